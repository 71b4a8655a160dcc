import type { Config } from "../../src/config/config.ts";
import { loadConfig } from "../../src/config/load.ts";
import { Logger } from "../../src/log/logger.ts";
import { runNode } from "../../src/node.ts";
import type { DrainOutcome } from "../../src/server/server.ts";
import type { Store } from "../../src/store/store.ts";
import { type StartLine, startLine } from "./server.ts";

export interface NodeOptions {
  /** The environment the config reads (KVFLEET_*, REDIS_URL); nothing of this process's. */
  env?: Record<string, string>;
}

/**
 * A kvfleet node in the test's own process: `runNode`, as `src/main.ts` runs
 * it, with its log lines kept in memory instead of on stdout. For what a
 * process adds (signals, exit codes, stdout, RSS) use `spawnServer`.
 */
export interface TestNode {
  /** ws://127.0.0.1:port/ (wss:// with TLS) */
  readonly url: string;
  /** http://127.0.0.1:port (https:// with TLS), for the HTTP paths. */
  readonly httpUrl: string;
  readonly port: number;
  readonly config: Config;
  readonly store: Store;
  /** The start line, as the process would print it. */
  readonly started: StartLine;
  /** Every log line so far, one JSON object a line, as the process would print them. */
  output(): string;
  /** The listener's graceful shutdown; the store stays open until `stop`. */
  drain(timeoutMs: number): Promise<DrainOutcome>;
  /** Drains (within `limits.drainTimeout`, unless `drain` ran already) and closes the store; idempotent. */
  stop(): Promise<void>;
}

/** Starts a node on a free loopback port, with `args` as command-line flags. */
export function startNode(args: string[] = [], options: NodeOptions = {}): TestNode {
  const config = loadConfig({
    argv: ["--ip=127.0.0.1", "--port=0", ...args],
    env: options.env ?? {},
  });
  let output = "";
  const log = new Logger(config.log.level, (line) => {
    output += `${line}\n`;
  });
  const node = runNode(config, log);
  const started = startLine(output);
  if (started === undefined) throw new Error(`no start line in:\n${output}`);
  let drained: Promise<DrainOutcome> | undefined;
  let stopped: Promise<void> | undefined;
  const drain = (timeoutMs: number) => {
    drained ??= node.drain(timeoutMs);
    return drained;
  };
  return {
    url: node.url,
    httpUrl: node.url.replace(/^ws/, "http").replace(/\/$/, ""),
    port: Number(new URL(node.url).port),
    config,
    store: node.store,
    started,
    output: () => output,
    drain,
    stop() {
      stopped ??= (async () => {
        await drain(config.limits.drainTimeout * 1000);
        await node.store.close();
      })();
      return stopped;
    },
  };
}
