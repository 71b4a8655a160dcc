import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { Runner } from "./redis-operations.ts";
import { type ScriptName, scriptTable } from "./redis-scripts.ts";
import { RespConnection } from "./resp-connection.ts";

/** The store's own connection to a single Redis and the runner sending the per-key commands on it. */
export interface Lane {
  readonly connection: RespConnection;
  readonly runner: Runner;
}

/**
 * Opens the per-key commands' connection (`resp-connection.ts`) to the Redis
 * of an ioredis client, with its address, TLS, credentials and database.
 * Every connection loads the scripts before it takes a command, so an
 * EVALSHA finds its script; should one fail NOSCRIPT anyway (someone ran
 * SCRIPT FLUSH), it did not run, its keys answer 100, and the scripts are
 * loaded again ahead of the commands that follow.
 */
export function openLane(client: Redis, onReady: () => void): Lane {
  const shas = {} as Record<ScriptName, string>;
  const setup: (readonly string[])[] = [];
  for (const [name, lua] of Object.entries(scriptTable(false))) {
    shas[name as ScriptName] = createHash("sha1").update(lua).digest("hex");
    setup.push(["SCRIPT", "LOAD", lua]);
  }
  const options = client.options;
  const connection = new RespConnection({
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 6379,
    tls: options.tls !== undefined,
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
    db: options.db ?? 0,
    setup,
    onReady,
  });
  let reloading = false;
  const noScript = (err: Error): never => {
    if (!reloading && err.message.startsWith("NOSCRIPT")) {
      reloading = true;
      void Promise.allSettled(setup.map((args) => connection.send(args))).then(() => {
        reloading = false;
      });
    }
    throw err;
  };
  return {
    connection,
    runner: {
      script: (name, key, args) =>
        connection.send(["EVALSHA", shas[name], 1, key], args).catch(noScript),
      call: (command, args) => connection.send([command], args),
      pipeline: (commands) => connection.pipeline(commands),
    },
  };
}
