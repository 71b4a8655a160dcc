import { ConfigError, loadConfig } from "./config/load.ts";
import { startServer } from "./server/server.ts";
import { createStore } from "./store/create.ts";
import { VERSION } from "./version.ts";

function exit(code: number, message: string): never {
  console.error(`kvfleet: ${message}`);
  process.exit(code);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig({ argv: process.argv.slice(2), env: process.env });
} catch (error) {
  if (error instanceof ConfigError) exit(2, error.message);
  throw error;
}

const store = createStore(config.store);
let running: ReturnType<typeof startServer>;
try {
  running = startServer(config, store, VERSION);
} catch (error) {
  exit(1, `cannot listen on ${config.kv.ip}:${config.kv.port}: ${String(error)}`);
}

console.log(
  `kvfleet ${VERSION} listening on ${running.url} store=${store.description} maxPayload=${config.kv.maxPayload}`,
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    await running.stop();
    await store.close();
    process.exit(0);
  });
}
