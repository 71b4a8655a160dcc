import { afterAll, beforeAll } from "bun:test";
import { connectRedis, RedisStore } from "../../src/store/redis.ts";
import { type RedisServer, redisCli, startRedis, waitFor } from "../support/redis.ts";
import { coalescingSuite } from "./coalescing-suite.ts";
import { storeSuite } from "./store-suite.ts";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(() => server?.stop());

/** A ready store on the test's Redis, as another node would have. */
async function another(): Promise<RedisStore> {
  const store = new RedisStore(
    connectRedis({ type: "redis", url: server.url, commandTimeout: 1000 }),
  );
  await waitFor("the client to be ready", () => store.ready());
  return store;
}

storeSuite(
  "redis",
  async () => {
    const client = connectRedis({ type: "redis", url: server.url, commandTimeout: 1000 });
    const store = new RedisStore(client);
    await waitFor("the client to be ready", () => store.ready());
    await client.flushall();
    return store;
  },
  undefined,
  another,
);

coalescingSuite("redis", {
  async open() {
    const store = new RedisStore(
      connectRedis({ type: "redis", url: server.url, commandTimeout: 1000 }),
    );
    await waitFor("the client to be ready", () => store.ready());
    return store;
  },
  infos: async () => [await redisCli(server.port, "INFO", "all")],
  raw: (_key, ...args) => redisCli(server.port, ...args),
});
