import type { Config } from "./config.ts";

const HIDDEN = "(hidden)";

/** A Redis URL with its password replaced, so the effective config can be logged. */
function redactUrl(text: string): string {
  const url = new URL(text);
  if (url.password !== "") url.password = HIDDEN;
  return url.toString();
}

/** The effective configuration without secrets: the token and Redis passwords never reach a log. */
export function redactConfig(config: Config): Config {
  const { store, security } = config;
  return {
    ...config,
    store:
      store.type === "memory"
        ? store
        : "cluster" in store
          ? { ...store, cluster: store.cluster.map(redactUrl) }
          : { ...store, url: redactUrl(store.url) },
    security: { ...security, ...(security.token ? { token: HIDDEN } : {}) },
  };
}
