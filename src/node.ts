import type { Config } from "./config/config.ts";
import { redactConfig } from "./config/redact.ts";
import type { Logger } from "./log/logger.ts";
import { Metrics } from "./server/metrics.ts";
import { type DrainOutcome, startServer } from "./server/server.ts";
import { createStore } from "./store/create.ts";
import type { Store } from "./store/store.ts";
import { VERSION } from "./version.ts";

/** A node serving: its listener, the store it opened and its metrics. */
export interface Node {
  /** The URL clients connect to. */
  readonly url: string;
  readonly store: Store;
  readonly metrics: Metrics;
  /** The listener's graceful shutdown (`RunningServer.drain`); the store stays open. */
  drain(timeoutMs: number): Promise<DrainOutcome>;
}

/**
 * Opens the store the config names, starts the listener on it and logs the
 * start line: everything `main.ts` does short of signals and exit codes, so
 * that tests can run the same node in their own process. Throws when the
 * listener cannot start, after closing the store.
 */
export function runNode(config: Config, log: Logger): Node {
  const metrics = new Metrics();
  const store = createStore(config.store, {
    up() {
      metrics.storeUp(true);
      log.info("store up", { store: config.store.type });
    },
    down(reason) {
      metrics.storeUp(false);
      log.warn("store down", { store: config.store.type, reason });
    },
    full(report) {
      log.warn("store full", { store: config.store.type, ...report });
    },
  });
  metrics.storeUsage(store);

  let running: ReturnType<typeof startServer>;
  try {
    running = startServer({ config, store, version: VERSION, log, metrics });
  } catch (error) {
    void store.close();
    throw error;
  }

  // Written whatever the level: tools and people wait for this line.
  log.always("info", "listening", {
    version: VERSION,
    url: running.url,
    store: store.description,
    maxPayload: config.kv.maxPayload,
    config: redactConfig(config),
  });
  return { url: running.url, store, metrics, drain: (timeoutMs) => running.drain(timeoutMs) };
}
