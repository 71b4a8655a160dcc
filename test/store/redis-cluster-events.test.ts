import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import calculateSlot from "cluster-key-slot";
import type { Cluster } from "ioredis";
import { connectRedis, RedisStore } from "../../src/store/redis.ts";
import { slotChannel } from "../../src/store/redis-channels.ts";
import type { Change } from "../../src/store/store.ts";
import { type RedisCluster, redisCli, startRedisCluster, waitFor } from "../support/redis.ts";
import { Recorder } from "./change-recorder.ts";

let cluster: RedisCluster;
const stores: RedisStore[] = [];
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 30_000);
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
  await Promise.all(stores.splice(0).map((store) => store.close()));
});
afterAll(() => cluster?.stop());

/** A ready store on a fresh cluster client, and that client. */
async function open(): Promise<{ store: RedisStore; client: Cluster }> {
  const client = connectRedis({ type: "redis", cluster: cluster.urls, commandTimeout: 1000 });
  const store = new RedisStore(client);
  stores.push(store);
  await waitFor("the cluster client to be ready", () => store.ready());
  return { store, client: client as Cluster };
}

async function watching(store: RedisStore): Promise<Recorder> {
  const recorder = new Recorder();
  stops.push(await store.watch(recorder));
  return recorder;
}

const portOf = (nodeKey: string) => Number(nodeKey.split(":")[1]);
const ownerPort = (client: Cluster, key: string) =>
  portOf(client.slots[calculateSlot(key)]?.[0] ?? ":0");

/** `n` new keys held by the master on `port`, by the client's slot map. */
function keysOn(client: Cluster, port: number, n: number, label = "k"): string[] {
  const out: string[] = [];
  while (out.length < n) {
    const k = `${label}:${crypto.randomUUID()}`;
    if (ownerPort(client, k) === port) out.push(k);
  }
  return out;
}

/** Moves `slot` (and its keys) from one master to another, as a resharding does. */
async function moveSlot(slot: number, from: number, to: number, keys: string[]): Promise<void> {
  const fromId = (await redisCli(from, "CLUSTER", "MYID")).trim();
  const toId = (await redisCli(to, "CLUSTER", "MYID")).trim();
  await redisCli(to, "CLUSTER", "SETSLOT", String(slot), "IMPORTING", fromId);
  await redisCli(from, "CLUSTER", "SETSLOT", String(slot), "MIGRATING", toId);
  if (keys.length > 0) {
    await redisCli(from, "MIGRATE", "127.0.0.1", String(to), "", "0", "5000", "KEYS", ...keys);
  }
  for (const node of cluster.nodes) {
    await redisCli(node.port, "CLUSTER", "SETSLOT", String(slot), "NODE", toId);
  }
}

const set = (key: string, value: string): Change => ({ op: "set", key, value });

describe("change events on a Redis Cluster", () => {
  test("keys of all three masters: every kind of event; no subscription left after stop", async () => {
    const { store, client } = await open();
    const r = await watching(store);
    const ports = cluster.nodes.map((node) => node.port);
    for (const port of ports) {
      const [a, b, c] = keysOn(client, port, 3);
      await store.set([a as string], ["[1]"]);
      await store.set([b as string, c as string], ["1", "2"], 100);
      await store.append([a as string], ["[2]"]);
      await store.remove([a as string]);
      expect(await r.next(a as string, 3)).toEqual([
        set(a as string, "[1]"),
        { op: "append", key: a as string, value: "[1,2]" },
        { op: "rmv", key: a as string },
      ]);
      expect(await r.next(c as string, 2)).toEqual([
        set(c as string, "2"),
        { op: "expire", key: c as string },
      ]);
    }
    expect(r.count("reset")).toBe(0);
    await stops.pop()?.();
    for (const port of ports) {
      expect(await redisCli(port, "PUBSUB", "SHARDCHANNELS")).toBe("\n");
      expect(await redisCli(port, "PUBSUB", "NUMSUB", "__keyevent@0__:expired")).toBe(
        "__keyevent@0__:expired\n0\n",
      );
    }
  });

  test("clears racing writes on every master: one clear each, and replaying the events gives the store", async () => {
    const { store, client } = await open();
    const r = await watching(store);
    const ports = cluster.nodes.map((node) => node.port);
    const keys = ports.flatMap((port) => keysOn(client, port, 40));
    const write = (some: string[], round: number) =>
      Promise.all(some.map((k, i) => store.set([k], [`${round * 1000 + i}`])));
    for (let round = 0; round < 5; round++) {
      // The keys written before the clear and not after are gone: a master's events
      // that arrive after another master's clear but precede its own must be dropped.
      await Promise.all([write(keys, round), store.clear(), write(keys.slice(0, 20), round)]);
      // The last event of each master: everything it sent before has arrived.
      const ends = ports.map((port) => keysOn(client, port, 1, "end")[0] as string);
      await store.set(
        ends,
        ends.map(() => "0"),
      );
      await r.until("the end of every master", () => ends.every((k) => r.of(k).length === 1));
      expect(r.count("clear")).toBe(round + 1);
      const model = new Map<string, string>();
      for (const event of r.seen) {
        if (event.op === "clear") model.clear();
        else if (event.op === "set" || event.op === "append") model.set(event.key, event.value);
        else if (event.op !== "reset") model.delete(event.key);
      }
      const stored = await store.get(keys);
      expect(keys.map((k): unknown => model.get(k) ?? 22)).toEqual(stored);
    }
    expect(r.count("reset")).toBe(0);
  }, 30_000);

  test("CLIENT KILL TYPE pubsub on one master: one reset, then events from every master", async () => {
    const { store, client } = await open();
    const r = await watching(store);
    await redisCli(cluster.nodes[1]?.port as number, "CLIENT", "KILL", "TYPE", "pubsub");
    await r.until("a reset", () => r.count("reset") === 1);
    const keys = cluster.nodes.map((node) => keysOn(client, node.port, 1)[0] as string);
    await store.set(keys, ["1", "2", "3"]);
    for (const [i, k] of keys.entries()) expect(await r.next(k, 1)).toEqual([set(k, `${i + 1}`)]);
    expect(r.count("reset")).toBe(1);
  });

  test("a slot moved during a watch: one reset once the new owner's channel is subscribed, then events from it", async () => {
    const { store, client } = await open();
    const r = await watching(store);
    const [from, to] = [cluster.nodes[0]?.port as number, cluster.nodes[2]?.port as number];
    const [k] = keysOn(client, from, 1) as [string];
    const slot = calculateSlot(k);
    const channel = slotChannel(slot);
    await store.set([k], ["1"]);
    await r.next(k, 1);

    await moveSlot(slot, from, to, [k]);
    await r.until("a reset after the move", () => r.count("reset") === 1);
    expect(await redisCli(to, "PUBSUB", "SHARDNUMSUB", channel)).toBe(`${channel}\n1\n`);
    expect(await redisCli(from, "PUBSUB", "SHARDNUMSUB", channel)).toBe(`${channel}\n0\n`);
    await store.set([k], ["2"]);
    expect(await r.next(k, 2)).toEqual([set(k, "1"), set(k, "2")]);

    // And back: a second move, a second reset; the append fails (41) and sends nothing.
    await moveSlot(slot, to, from, [k]);
    await r.until("a reset after the move back", () => r.count("reset") === 2);
    await store.append([k], ["3"]);
    await store.remove([k]);
    expect(await r.next(k, 3)).toEqual([set(k, "1"), set(k, "2"), { op: "rmv", key: k }]);
    expect(r.count("reset")).toBe(2);
  }, 30_000);

  test("a master killed and started again on its port: one reset, then events from its slots", async () => {
    const { store, client } = await open();
    const r = await watching(store);
    const node = cluster.nodes[1];
    if (node === undefined) throw new Error("no second master");
    const [k] = keysOn(client, node.port, 1) as [string];
    await node.restart();
    await waitFor("cluster_state:ok on the restarted master", async () =>
      (await redisCli(node.port, "CLUSTER", "INFO")).includes("cluster_state:ok"),
    );
    await r.until("a reset after the restart", () => r.count("reset") === 1, 15_000);
    // Status 100 while the client finds the master again; a write that answered 100 may have run.
    await waitFor(
      "the key's master to answer",
      async () => (await store.set([k], ["1"]))[0] !== 100,
    );
    expect((await r.next(k, 1)).at(-1)).toEqual(set(k, "1"));
    expect(r.count("reset")).toBe(1);
  }, 30_000);
});
