import { infoRequested } from "./config/help.ts";
import { ConfigError, loadConfig } from "./config/load.ts";
import { Logger } from "./log/logger.ts";
import { type Node, runNode } from "./node.ts";

// Configuration errors are for a person at a terminal: one plain line, exit 2.
function exit(code: number, message: string): never {
  console.error(`kvfleet: ${message}`);
  process.exit(code);
}

const info = infoRequested(process.argv.slice(2));
if (info !== undefined) {
  console.log(info);
  process.exit(0);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig({ argv: process.argv.slice(2), env: process.env });
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
