import { afterAll, beforeAll, expect, test } from "bun:test";
import { Status } from "../../src/protocol/status.ts";
import { connectRedis, RedisStore } from "../../src/store/redis.ts";
import { type RedisCluster, redisCli, startRedisCluster } from "../support/redis.ts";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 30_000);
afterAll(() => cluster?.stop());

/**
 * A script's first EVALSHA on a master that lacks it fails NOSCRIPT, and
 * ioredis sends it again as EVAL after what was sent meanwhile. The store
 * loads its scripts into every master before it sends anything, so
 * operations on one key asked for in one turn, on masters that never saw the
 * scripts, still run in the order asked.
 */
test("on masters without the scripts, add, append and get of one key run in the order asked", async () => {
  for (let round = 0; round < 10; round++) {
    await Promise.all(cluster.nodes.map((node) => redisCli(node.port, "SCRIPT", "FLUSH")));
    const store = new RedisStore(
      connectRedis({ type: "redis", cluster: cluster.urls, commandTimeout: 5000 }),
    );
    const key = `order:${round}:${crypto.randomUUID()}`;
    const [added, appended, got] = await Promise.all([
      store.add([key], ["[1]"]),
      store.append([key], ["[2]"]),
      store.get([key]),
    ]);
    expect([added, appended, got]).toEqual([[Status.KeySet], [Status.Ok], ["[1,2]"]]);
    await store.close();
  }
}, 60_000);
