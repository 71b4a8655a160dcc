import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import calculateSlot from "cluster-key-slot";
import type { Cluster } from "ioredis";
import { decodeCursor, encodeCursor } from "../../src/store/cursor.ts";
import { connectRedis, RedisStore } from "../../src/store/redis.ts";
import { type RedisCluster, redisCli, startRedisCluster, waitFor } from "../support/redis.ts";

/** KV_KEYS on a Redis Cluster: every master in turn, through reshardings and failovers. */

const stores: { store: RedisStore; client: Cluster }[] = [];

async function open(target: RedisCluster) {
  const client = connectRedis({
    type: "redis",
    cluster: target.urls,
    commandTimeout: 2000,
  }) as Cluster;
  const store = new RedisStore(client);
  stores.push({ store, client });
  await waitFor("the cluster client to be ready", () => store.ready());
  return { store, client };
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map(({ store }) => store.close()));
});

/** Lists every page, store after store; `between` runs after each page but the last. */
async function listAll(
  list: RedisStore[],
  prefix: string,
  limit: number,
  between?: (cursor: string) => Promise<void>,
) {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100_000; page++) {
    const store = list[page % list.length] as RedisStore;
    const result = await store.keys({ prefix, limit, ...(cursor ? { cursor } : {}) });
    if (result === null) throw new Error("the store refused a cursor it made");
    expect(result.keys.length).toBeLessThanOrEqual(limit);
    seen.push(...result.keys);
    if (result.cursor === null) return seen;
    cursor = result.cursor;
    await between?.(cursor);
  }
  throw new Error("the listing never ended");
}

/** The slot a cursor's master was named by (see Position in redis-keys.ts). */
const slotOf = (cursor: string) => (decodeCursor("redis-cluster", cursor) as { s: number }).s;
const portOf = (address: string) => Number(address.split(":")[1]);
const ownerPort = (client: Cluster, slot: number) => portOf(client.slots[slot]?.[0] ?? ":0");

async function fill(store: RedisStore, keys: string[]) {
  expect(
    await store.set(
      keys,
      keys.map(() => "1"),
    ),
  ).not.toContain(100);
}

/** Moves `slot` and its `keys` from one master to another, as redis-cli --cluster reshard does. */
async function moveSlot(
  target: RedisCluster,
  slot: number,
  from: number,
  to: number,
  keys: string[],
) {
  const fromId = (await redisCli(from, "CLUSTER", "MYID")).trim();
  const toId = (await redisCli(to, "CLUSTER", "MYID")).trim();
  await redisCli(to, "CLUSTER", "SETSLOT", String(slot), "IMPORTING", fromId);
  await redisCli(from, "CLUSTER", "SETSLOT", String(slot), "MIGRATING", toId);
  const moved = await redisCli(
    from,
    "MIGRATE",
    "127.0.0.1",
    String(to),
    "",
    "0",
    "5000",
    "KEYS",
    ...keys,
  );
  expect(moved.trim()).toBe("OK");
  for (const node of target.nodes) {
    await redisCli(node.port, "CLUSTER", "SETSLOT", String(slot), "NODE", toId);
  }
}

describe("three masters", () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 30_000);
  afterAll(() => cluster?.stop());

  test("a listing covers every master, goes on through other stores, and never runs KEYS", async () => {
    const [a, b, c] = [await open(cluster), await open(cluster), await open(cluster)];
    const keys = Array.from({ length: 900 }, (_, i) => `all:${i}`);
    await fill(a.store, keys);
    const masters = new Set(keys.map((k) => ownerPort(a.client, calculateSlot(k))));
    expect(masters.size).toBe(3);
    const keysRun = async () => {
      const infos = await Promise.all(
        cluster.nodes.map((n) => redisCli(n.port, "INFO", "commandstats")),
      );
      return infos.filter((info) => /^cmdstat_keys:/m.test(info)).length;
    };
    const seen = await listAll([a.store, b.store, c.store], "all:", 50);
    expect(new Set(seen)).toEqual(new Set(keys));
    expect(await keysRun()).toBe(0);
    // A single Redis's cursor is not a Cluster's.
    const single = encodeCursor("redis", { d: [], s: 0, o: [], r: "", p: 0, c: "0", k: [] });
    expect(await a.store.keys({ prefix: "", limit: 10, cursor: single })).toBeNull();
  });

  test("slots moved between listed and unlisted masters during a listing lose no key", async () => {
    const { store, client } = await open(cluster);
    // Masters in listing order: by the lowest slot each holds.
    const ports: number[] = [];
    for (let slot = 0; slot < 16384; slot++) {
      const port = ownerPort(client, slot);
      if (!ports.includes(port)) ports.push(port);
    }
    const [first, middle, last] = ports as [number, number, number];
    const tagOn = (port: number) => {
      for (let i = 0; ; i++)
        if (ownerPort(client, calculateSlot(`mv${i}`)) === port) return `mv${i}`;
    };
    const [toFirst, toLast] = [tagOn(last), tagOn(first)];
    const movingUp = Array.from({ length: 50 }, (_, i) => `rs:{${toFirst}}:${i}`);
    const movingDown = Array.from({ length: 50 }, (_, i) => `rs:{${toLast}}:${i}`);
    const others = Array.from({ length: 300 }, (_, i) => `rs:${i}`);
    const keys = [...movingUp, ...movingDown, ...others];
    await fill(store, keys);

    let moved = false;
    const seen = await listAll([store], "rs:", 20, async (cursor) => {
      if (moved || ownerPort(client, slotOf(cursor)) !== middle) return;
      moved = true;
      // From the last master (not listed yet) to the first (listed), and the other way.
      await moveSlot(cluster, calculateSlot(toFirst), last, first, movingUp);
      await moveSlot(cluster, calculateSlot(toLast), first, last, movingDown);
    });
    expect(moved).toBe(true);
    expect(new Set(seen)).toEqual(new Set(keys));
  }, 30_000);
});

describe("a failover during a listing", () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ replicas: 1 });
  }, 60_000);
  afterAll(() => cluster?.stop());

  test("the master replaced by its replica is listed again: no key is lost", async () => {
    const { store, client } = await open(cluster);
    const keys = Array.from({ length: 600 }, (_, i) => `fo:${i}`);
    await fill(store, keys);
    let failedOver = false;
    const seen = await listAll([store], "fo:", 30, async (cursor) => {
      if (failedOver) return;
      failedOver = true;
      const master = ownerPort(client, slotOf(cursor));
      const replica = await replicaOf(cluster, master);
      await waitFor("the replica to be in sync", async () => {
        const [m, r] = await Promise.all([offset(master), offset(replica)]);
        return m > 0 && m === r;
      });
      expect((await redisCli(replica, "CLUSTER", "FAILOVER")).trim()).toBe("OK");
      await waitFor("the replica to take over", async () =>
        (await redisCli(replica, "INFO", "replication")).includes("role:master"),
      );
      // The client routes the slot to the new master: the old SCAN cursor meets another process.
      await waitFor("the client's slot map to name the new master", () => {
        client.refreshSlotsCache();
        return ownerPort(client, slotOf(cursor)) === replica;
      });
      await waitFor("the store to answer", () => store.ready());
    });
    expect(new Set(seen)).toEqual(new Set(keys));
  }, 60_000);
});

const offset = async (port: number) =>
  Number(/^master_repl_offset:(\d+)/m.exec(await redisCli(port, "INFO", "replication"))?.[1]);

/** The port of the replica of the master on `port`. */
async function replicaOf(target: RedisCluster, port: number): Promise<number> {
  for (const server of target.nodes) {
    const info = await redisCli(server.port, "INFO", "replication");
    if (info.includes("role:slave") && new RegExp(`^master_port:${port}\\b`, "m").test(info)) {
      return server.port;
    }
  }
  throw new Error(`no replica of the master on port ${port}`);
}
