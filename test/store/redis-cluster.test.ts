import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import calculateSlot from "cluster-key-slot";
import type { Cluster } from "ioredis";
import { Status } from "../../src/protocol/status.ts";
import { connectRedis, RedisStore } from "../../src/store/redis.ts";
import { type RedisCluster, redisCli, startRedisCluster, waitFor } from "../support/redis.ts";
import { coalescingSuite } from "./coalescing-suite.ts";
import { storeSuite } from "./store-suite.ts";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 30_000);
afterAll(() => cluster?.stop());

storeSuite(
  "redis cluster",
  async () => {
    const client = connectRedis({ type: "redis", cluster: cluster.urls, commandTimeout: 1000 });
    const store = new RedisStore(client);
    await waitFor("the cluster client to be ready", () => store.ready());
    await Promise.all((client as Cluster).nodes("master").map((node) => node.flushall()));
    return store;
  },
  undefined,
  async () => {
    const store = new RedisStore(
      connectRedis({ type: "redis", cluster: cluster.urls, commandTimeout: 1000 }),
    );
    await waitFor("the cluster client to be ready", () => store.ready());
    return store;
  },
);

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

test("set and add with a ttl racing on new keys through 5 cluster clients: exactly one 20", async () => {
  const stores = Array.from(
    { length: 5 },
    () =>
      new RedisStore(connectRedis({ type: "redis", cluster: cluster.urls, commandTimeout: 2000 })),
  );
  await waitFor("every cluster client to be ready", async () =>
    (await Promise.all(stores.map((s) => s.ready()))).every(Boolean),
  );
  const id = () => crypto.randomUUID();
  for (let round = 0; round < 10; round++) {
    const [a, b, t] = [id(), id(), id()];
    // Alone (the plain command), then among keys of the same slot, so of one group (its script).
    const [c, d] = [`{${t}}c`, `{${t}}d`];
    const set = await Promise.all(stores.map((s) => s.set([a], ["1"], 60_000)));
    const add = await Promise.all(stores.map((s) => s.add([b], ["1"], 60_000)));
    const grouped = await Promise.all(
      stores.map((s) => s.set([c, `{${t}}${id()}`, id()], ["1", "1", "1"], 60_000)),
    );
    const added = await Promise.all(
      stores.map((s) => s.add([id(), `{${t}}${id()}`, d], ["1", "1", "1"], 60_000)),
    );
    expect(set.flat().sort()).toEqual([20, 21, 21, 21, 21]);
    expect(add.flat().sort()).toEqual([20, 23, 23, 23, 23]);
    expect(grouped.map((r) => r[0]).sort()).toEqual([20, 21, 21, 21, 21]);
    expect(added.map((r) => r[2]).sort()).toEqual([20, 23, 23, 23, 23]);
    const lefts = (await stores[0]?.ttl([a, b, c, d])) as { ms: number }[];
    for (const left of lefts) expect(left.ms).toBeGreaterThan(50_000);
  }
  await Promise.all(stores.map((s) => s.close()));
});

coalescingSuite("redis cluster", {
  async open() {
    const store = new RedisStore(
      connectRedis({ type: "redis", cluster: cluster.urls, commandTimeout: 1000 }),
    );
    await waitFor("the cluster client to be ready", () => store.ready());
    return store;
  },
  infos: () => Promise.all(cluster.nodes.map((node) => redisCli(node.port, "INFO", "all"))),
  raw: (_key, ...args) => redisCli(cluster.nodes[0]?.port ?? 0, "-c", ...args),
});

describe("a resharding under a group", () => {
  /** The node that serves `slot` now, by asking a node (CLUSTER SHARDS would too). */
  const owner = (client: Cluster, key: string) => client.slots[calculateSlot(key)]?.[0] ?? "";
  const portOf = (nodeKey: string) => Number(nodeKey.split(":")[1]);

  test("keys of a slot moved away mid-group are routed alone and answered exactly (ASK, then MOVED)", async () => {
    const client = connectRedis({ type: "redis", cluster: cluster.urls, commandTimeout: 2000 });
    const store = new RedisStore(client);
    await waitFor("the cluster client to be ready", () => store.ready());
    const cl = client as Cluster;
    const from = owner(cl, "reshard:0");
    // Keys on the same master in several slots, one of them the slot that will move.
    const keys: string[] = [];
    for (let i = 0; keys.length < 12; i++) {
      if (owner(cl, `reshard:${i}`) === from) keys.push(`reshard:${i}`);
    }
    const moving = keys[0] as string;
    const slot = calculateSlot(moving);
    const to = cl.nodes("master").find((n) => `${n.options.host}:${n.options.port}` !== from);
    if (to === undefined) throw new Error("no second master");
    const toPort = to.options.port as number;
    const fromId = (await redisCli(portOf(from), "CLUSTER", "MYID")).trim();
    const toId = (await redisCli(toPort, "CLUSTER", "MYID")).trim();
    expect(
      await store.set(
        keys,
        keys.map(() => "1"),
      ),
    ).toEqual(keys.map(() => Status.KeySet));

    // Half-way: the slot is migrating and its key already moved, so the old master answers ASK.
    await redisCli(toPort, "CLUSTER", "SETSLOT", String(slot), "IMPORTING", fromId);
    await redisCli(portOf(from), "CLUSTER", "SETSLOT", String(slot), "MIGRATING", toId);
    await redisCli(
      portOf(from),
      "MIGRATE",
      "127.0.0.1",
      String(toPort),
      "",
      "0",
      "5000",
      "KEYS",
      moving,
    );
    const [updated, read] = await Promise.all([
      store.set(
        keys,
        keys.map(() => "2"),
      ),
      store.get(keys),
    ]);
    expect(updated).toEqual(keys.map(() => Status.KeyUpdated));
    expect(read).toEqual(keys.map(() => "2"));

    // Done: every master says the slot is the new one's; the client's map is stale, so MOVED.
    for (const node of cluster.nodes) {
      await redisCli(node.port, "CLUSTER", "SETSLOT", String(slot), "NODE", toId);
    }
    const [again, removed, gone] = await Promise.all([
      store.append(
        keys,
        keys.map(() => "3"),
      ),
      store.remove(keys),
      store.contains(keys),
    ]);
    expect(again).toEqual(keys.map(() => Status.ValueTypeInvalid));
    expect(removed).toEqual(keys.map(() => Status.KeyRemoved));
    expect(gone).toEqual(keys.map(() => Status.KeyNotExist));
    expect(await redisCli(toPort, "EXISTS", moving)).toBe("0\n");
    await store.close();
  });
});
