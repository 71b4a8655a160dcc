import { afterAll, beforeAll } from "bun:test";
import { connectRedis, RedisStore } from "../../src/store/redis.ts";
import { type RedisServer, startRedis, waitFor } from "../support/redis.ts";
import { storeSuite } from "./store-suite.ts";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(() => server?.stop());

storeSuite("redis", async () => {
  const client = connectRedis({ type: "redis", url: server.url, commandTimeout: 1000 });
  const store = new RedisStore(client);
  await waitFor("the client to be ready", () => store.ready());
  await client.flushall();
  return store;
});
