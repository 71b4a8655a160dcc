import { infoRequested } from "./config/help.ts";
import { ConfigError, loadConfig } from "./config/load.ts";
import { Logger } from "./log/logger.ts";
import { type Node, runNode } from "./node.ts";

// Configuration errors are for a person at a terminal: one plain line, exit 2.
function exit(code: number, message: string): never {
  console.error(`kvfleet: ${message}`);
  process.exit(code);
}

/**
 * The server as a process: `--help`/`--version`, configuration from `argv` and
 * the environment, the node, and a drain on SIGINT or SIGTERM that decides the
 * exit code. `bun run start` (src/main.ts) and `kvfleet serve` both run this,
 * so the two cannot drift; `usage` is how the caller's `--help` names the command.
 */
export function serve(argv: readonly string[], usage: string): void {
  const info = infoRequested(argv, usage);
  if (info !== undefined) {
    console.log(info);
    process.exit(0);
  }

  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ argv, env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) exit(2, error.message);
    throw error;
  }

  const log = new Logger(config.log.level);
  let node: Node;
  try {
    node = runNode(config, log);
  } catch (error) {
    exit(1, `cannot listen on ${config.kv.ip}:${config.kv.port}: ${String(error)}`);
  }

  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, async () => {
      if (stopping) return;
      stopping = true;
      log.info("drain requested", { signal, timeoutSeconds: config.limits.drainTimeout });
      const { timedOut } = await node.drain(config.limits.drainTimeout * 1000);
      // After a timeout the store still owes answers nobody will read: a graceful quit would wait for them.
      if (!timedOut) await node.store.close();
      log.info("stopped", { timedOut });
      // Non-zero so that an orchestrator sees a drain that left writes in doubt.
      process.exit(timedOut ? 1 : 0);
    });
  }
}
