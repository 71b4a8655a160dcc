import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Status } from "../../src/protocol/status.ts";
import type { RedisStore } from "../../src/store/redis.ts";
import { type RedisServer, redisCli, startRedis } from "../support/redis.ts";
import { Recorder } from "./change-recorder.ts";
import { commandCalls, redisStores } from "./redis-stores.ts";

let server: RedisServer;
const { open, watching } = redisStores(() => server);

const id = () => crypto.randomUUID();

/** Calls of one command so far, scripts' own calls included. */
const calls = async (port: number, command: string): Promise<number> =>
  (await commandCalls(port)).get(command) ?? 0;

/** Subscribers of the event channel and of the expired channel of database 0. */
async function subscribers(port: number): Promise<string> {
  return redisCli(port, "PUBSUB", "NUMSUB", "kvfleet:ev:0", "__keyevent@0__:expired");
}

beforeAll(async () => {
  server = await startRedis();
});
afterAll(() => server?.stop());

describe("change events on one Redis", () => {
  test("writes publish only while someone subscribes, and a watch subscribes only while it lasts", async () => {
    const store = await open();
    const keys = [id(), id(), id()];
    const before = await calls(server.port, "publish");
    await store.set(keys, ["1", "2", "3"]);
    await store.set([keys[0] as string], ["4"]);
    await store.remove(keys);
    expect(await calls(server.port, "publish")).toBe(before);

    const stop = await store.watch(new Recorder());
    expect(await subscribers(server.port)).toBe("kvfleet:ev:0\n1\n__keyevent@0__:expired\n1\n");
    const watched = await calls(server.port, "publish"); // the watch's probe published once
    await store.set(keys, ["1", "2", "3"]);
    expect(await calls(server.port, "publish")).toBe(watched + 3);
    await stop();
    expect(await subscribers(server.port)).toBe("kvfleet:ev:0\n0\n__keyevent@0__:expired\n0\n");
    expect(await redisCli(server.port, "CLIENT", "LIST")).not.toContain("name=kvfleet-events");
    await store.set(keys, ["1", "2", "3"]);
    expect(await calls(server.port, "publish")).toBe(watched + 3);
  });

  test("closing the store ends its watches' subscriptions too", async () => {
    const store = await open();
    await store.watch(new Recorder());
    expect(await subscribers(server.port)).toContain("kvfleet:ev:0\n1\n");
    await store.close();
    expect(await subscribers(server.port)).toBe("kvfleet:ev:0\n0\n__keyevent@0__:expired\n0\n");
  });

  test("five stores racing on one key: two listeners see the same sequence, ending with GET", async () => {
    const writers = await Promise.all(Array.from({ length: 5 }, () => open()));
    const [a, b] = [
      await watching(writers[0] as RedisStore),
      await watching(writers[1] as RedisStore),
    ];
    const k = id();
    await writers[0]?.set([k], ["[]"]);
    await Promise.all(
      writers.flatMap((store, w) =>
        Array.from({ length: 40 }, (_, i) =>
          i % 7 === 0
            ? store.set([k], [`[${w * 100 + i}]`])
            : store.append([k], [`[${w * 100 + i}]`]),
        ),
      ),
    );
    const [stored] = (await (writers[2] as RedisStore).get([k])) as [string];
    for (const r of [a, b]) await r.next(k, 201);
    expect(a.of(k)).toEqual(b.of(k));
    expect(a.of(k)).toHaveLength(201);
    expect((a.of(k).at(-1) as { value: string }).value).toBe(stored);
  });

  test("an expiry found by a write comes before the write's event", async () => {
    const store = await open();
    const r = await watching(store);
    const k = id();
    for (let round = 0; round < 5; round++) {
      await store.set([k], [`${round}`], 1);
      await Bun.sleep(3);
      await store.set([k], [`"again${round}"`]);
    }
    await r.until("every write and expiry", () => r.of(k).length >= 15);
    const ops: string[] = r.of(k).map((e) => e.op);
    expect(ops).toEqual(Array.from({ length: 5 }, () => ["set", "expire", "set"]).flat());
  });

  test("CLIENT KILL TYPE pubsub: one reset once events flow again, then events as before", async () => {
    const store = await open();
    const r = await watching(store);
    const [before, after] = [id(), id()];
    await store.set([before], ["1"]);
    await r.next(before, 1);
    await redisCli(server.port, "CLIENT", "KILL", "TYPE", "pubsub");
    await r.until("a reset", () => r.count("reset") === 1);
    // The reset means subscribed again: a write right after it is seen.
    await store.set([after], ["2"]);
    await store.remove([before]);
    expect(await r.next(after, 1)).toEqual([{ op: "set", key: after, value: "2" }]);
    expect(await r.next(before, 2)).toEqual([
      { op: "set", key: before, value: "1" },
      { op: "rmv", key: before },
    ]);
    expect(r.count("reset")).toBe(1);
  });
});

describe("a Redis restart during a watch", () => {
  let own: RedisServer;
  beforeAll(async () => {
    own = await startRedis();
  });
  afterAll(() => own?.stop());

  test("SIGKILL and a start on the same port: one reset, then events, expire events included", async () => {
    const store = await open(own);
    const r = await watching(store);
    const [k, timed] = [id(), id()];
    await store.set([k], ["1"]);
    await r.next(k, 1);
    await own.kill();
    await Bun.sleep(300);
    expect(r.count("reset")).toBe(0); // not before events flow again
    await own.restart();
    await r.until("a reset after the restart", () => r.count("reset") === 1, 10_000);
    // A new process: notify-keyspace-events is set again on it.
    expect(await redisCli(own.port, "CONFIG", "GET", "notify-keyspace-events")).toContain("x");
    await store.set([k], ["2"]);
    await store.set([timed], ["3"], 50);
    expect(await r.next(k, 2)).toEqual([
      { op: "set", key: k, value: "1" },
      { op: "set", key: k, value: "2" },
    ]);
    expect(await r.next(timed, 2)).toEqual([
      { op: "set", key: timed, value: "3" },
      { op: "expire", key: timed },
    ]);
    expect(r.count("reset")).toBe(1);
  }, 30_000);
});

describe("what the Redis user may do", () => {
  let own: RedisServer;
  beforeAll(async () => {
    own = await startRedis();
  });
  afterAll(() => own?.stop());
  const as = (user: string) => `redis://${user}:pw@127.0.0.1:${own.port}`;

  test("CONFIG refused: events flow without expire events, and notes() says how to turn them on", async () => {
    await redisCli(own.port, "CONFIG", "SET", "notify-keyspace-events", "");
    await redisCli(
      own.port,
      "ACL",
      "SETUSER",
      "noconfig",
      "on",
      ">pw",
      "~*",
      "&*",
      "+@all",
      "-config",
    );
    const store = await open(own, as("noconfig"));
    expect(store.notes()).toEqual([]);
    const r = await watching(store);
    const [note] = store.notes();
    expect(note).toContain("CONFIG GET refused");
    expect(note).toContain('notify-keyspace-events to include "Ex"');
    const k = id();
    await store.set([k], ["1"]);
    expect(await r.next(k, 1)).toEqual([{ op: "set", key: k, value: "1" }]);
  });

  test("CONFIG SET refused: notes() says expire events are off; with Ex set by hand, nothing to say", async () => {
    await redisCli(own.port, "CONFIG", "SET", "notify-keyspace-events", "");
    await redisCli(
      own.port,
      "ACL",
      "SETUSER",
      "noset",
      "on",
      ">pw",
      "~*",
      "&*",
      "+@all",
      "-config|set",
    );
    const store = await open(own, as("noset"));
    let stop = await store.watch(new Recorder());
    expect(store.notes()).toEqual([expect.stringContaining("expire events off")]);
    await stop();
    await redisCli(own.port, "CONFIG", "SET", "notify-keyspace-events", "Kx$E");
    stop = await store.watch(new Recorder());
    expect(store.notes()).toEqual([]);
    expect(await redisCli(own.port, "CONFIG", "GET", "notify-keyspace-events")).toContain("$");
    await stop();
  });

  test("no channel permissions: watch fails at once, notes() names them, writes still work", async () => {
    await redisCli(
      own.port,
      "ACL",
      "SETUSER",
      "nochan",
      "on",
      ">pw",
      "~*",
      "resetchannels",
      "+@all",
    );
    const store = await open(own, as("nochan"));
    const started = performance.now();
    await expect(store.watch(new Recorder())).rejects.toThrow(/NOPERM/);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(store.notes().join()).toContain("&kvfleet:*");
    // Another user watches; this one's writes can't publish but answer as ever.
    const other = await open(own);
    const watcher = await watching(other);
    const k = id();
    expect(await store.set([k], ["1"])).toEqual([Status.KeySet]);
    expect(await store.append([k], ["2"])).toEqual([Status.ValueTypeInvalid]);
    expect(await store.remove([k, k])).toEqual([Status.KeyRemoved, Status.KeyNotExist]);
    await other.set([k], ["2"]);
    expect(await watcher.next(k, 1)).toEqual([{ op: "set", key: k, value: "2" }]);
  });

  test("subscribing allowed but publishing not: the watch fails, saying the write scripts can't publish", async () => {
    await redisCli(
      own.port,
      "ACL",
      "SETUSER",
      "nopub",
      "on",
      ">pw",
      "~*",
      "&*",
      "+@all",
      "-publish",
    );
    const store = await open(own, as("nopub"));
    await expect(store.watch(new Recorder())).rejects.toThrow(/can't publish/);
    const k = id();
    expect(await store.add([k], ["1"])).toEqual([Status.KeySet]);
  });
});
