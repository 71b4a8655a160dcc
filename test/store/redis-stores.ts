import { afterEach } from "bun:test";
import { connectRedis, RedisStore } from "../../src/store/redis.ts";
import { type RedisServer, redisCli, waitFor } from "../support/redis.ts";
import { Recorder } from "./change-recorder.ts";

/**
 * Stores on fresh clients (each another node's) and their watches, all
 * ended after each test of the file that calls this.
 */
export function redisStores(server: () => RedisServer) {
  const stores: RedisStore[] = [];
  const stops: (() => Promise<void>)[] = [];
  const stopWatches = () => Promise.all(stops.splice(0).map((stop) => stop()));
  afterEach(async () => {
    await stopWatches();
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });
  return {
    /** A ready store on `url` (the server's by default). */
    async open(target: RedisServer = server(), url = target.url): Promise<RedisStore> {
      const store = new RedisStore(connectRedis({ type: "redis", url, commandTimeout: 1000 }));
      stores.push(store);
      await waitFor("the client to be ready", () => store.ready());
      return store;
    },
    /** A recorder watching everything through `store`. */
    async watching(store: RedisStore): Promise<Recorder> {
      const recorder = new Recorder();
      stops.push(await store.watch(recorder));
      return recorder;
    },
    /** Ends the watches opened so far. */
    stopWatches,
  };
}

/** Calls of each command so far on the Redis at `port`, scripts' own calls included. */
export async function commandCalls(port: number): Promise<Map<string, number>> {
  const info = await redisCli(port, "INFO", "commandstats");
  const out = new Map<string, number>();
  for (const [, name, n] of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    out.set(name as string, Number(n));
  }
  return out;
}
