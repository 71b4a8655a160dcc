import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Cluster } from "ioredis";
import { Status } from "../../src/protocol/status.ts";
import { connectRedis, RedisStore } from "../../src/store/redis.ts";
import { type RedisCluster, startRedisCluster, waitFor } from "../support/redis.ts";
import { storeSuite } from "./store-suite.ts";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 30_000);
afterAll(() => cluster?.stop());

storeSuite("redis cluster", async () => {
  const client = connectRedis({ type: "redis", cluster: cluster.urls, commandTimeout: 1000 });
  const store = new RedisStore(client);
  await waitFor("the cluster client to be ready", () => store.ready());
  await Promise.all((client as Cluster).nodes("master").map((node) => node.flushall()));
  return store;
});

test("a batch sent while the cluster client is still connecting waits for it", async () => {
  const store = new RedisStore(
    connectRedis({ type: "redis", cluster: cluster.urls, commandTimeout: 2000 }),
  );
  const keys = ["{a}early", "{b}early", "{c}early"];
  expect(await store.set(keys, ["1", "2", "3"])).not.toContain(Status.Unknown);
  expect(await store.get(keys)).toEqual(["1", "2", "3"]);
  expect(await store.remove(keys)).toEqual([
    Status.KeyRemoved,
    Status.KeyRemoved,
    Status.KeyRemoved,
  ]);
  await store.close();
});
