import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Status } from "../../src/protocol/status.ts";
import type { RedisStore } from "../../src/store/redis.ts";
import { type RedisServer, redisCli, startRedis, waitFor } from "../support/redis.ts";
import { commandCalls, redisStores } from "./redis-stores.ts";

let server: RedisServer;
const { open, watching, stopWatches } = redisStores(() => server);

const quiet = (store: RedisStore) => waitFor("the store to be quiet", async () => store.quiet);
const id = () => crypto.randomUUID();

/** Calls of each command so far, scripts' own calls included. */
const calls = () => commandCalls(server.port);

beforeAll(async () => {
  server = await startRedis();
});
afterAll(() => server?.stop());

describe("lone writes while no node watches", () => {
  test("are the plain commands: SET NX, SET GET, DEL", async () => {
    const store = await open();
    await quiet(store);
    const k = id();
    const before = await calls();
    expect(await store.add([k], ["1"])).toEqual([Status.KeySet]);
    expect(await store.add([k], ["2"])).toEqual([Status.KeyExists]);
    expect(await store.set([k], ["3"])).toEqual([Status.KeyUpdated]);
    expect(await store.remove([k])).toEqual([Status.KeyRemoved]);
    expect(await store.remove([k])).toEqual([Status.KeyNotExist]);
    expect(await store.add([k], ["4"], 60_000)).toEqual([Status.KeySet]);
    const group = [id(), id(), id()];
    expect(await store.set(group, ["1", "2", "3"])).toEqual(group.map(() => Status.KeySet));
    expect(await store.remove(group)).toEqual(group.map(() => Status.KeyRemoved));
    const after = await calls();
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    expect(delta("evalsha")).toBe(0);
    expect(delta("set")).toBe(7);
    expect(delta("del")).toBe(5);
    expect(delta("pubsub|numsub")).toBe(0);
  });

  test("a watch starting on another node switches them first: every write sent after it is an event", async () => {
    const writer = await open();
    const watcher = await open();
    for (let round = 0; round < 3; round++) {
      await quiet(writer);
      // Writes keep going while the watch starts; those sent after it resolved must all show.
      let live = false;
      let stop = false;
      /** Keys written after the watch resolved, and whether each was removed again. */
      const sentAfter: [string, boolean][] = [];
      const writing = (async () => {
        for (let i = 0; !stop; i++) {
          const key = `w${round}:${i}:${id()}`;
          const removed = i % 2 === 0;
          if (live) sentAfter.push([key, removed]);
          await writer.add([key], ["1"]);
          if (removed) await writer.remove([key]);
        }
      })();
      const recorder = await watching(watcher);
      live = true;
      await waitFor("writes sent after the watch", async () => sentAfter.length >= 20);
      stop = true;
      await writing;
      expect(writer.quiet).toBe(false);
      for (const [key, removed] of sentAfter) {
        const expected = removed ? ["set", "rmv"] : ["set"];
        await recorder.until(
          `the events of ${key}`,
          () => recorder.of(key).length >= expected.length,
        );
        expect(recorder.of(key).map((e) => e.op)).toEqual(expected as ("set" | "rmv")[]);
      }
      expect(recorder.count("reset")).toBe(0);
      await stopWatches();
    }
  });

  test("a quiet node that lost its subscription says `lost` once back, then is quiet again", async () => {
    const writer = await open();
    await quiet(writer);
    const publishes = async () => (await calls()).get("publish") ?? 0;
    const before = await publishes();
    const list = await redisCli(server.port, "CLIENT", "LIST");
    const ids = [...list.matchAll(/^id=(\d+) .*name=kvfleet-quiet /gm)].map((m) => m[1] as string);
    expect(ids).toHaveLength(1);
    await redisCli(server.port, "CLIENT", "KILL", "ID", ids[0] as string);
    expect(writer.quiet).toBe(false);
    await waitFor("the lost message", async () => (await publishes()) > before);
    await quiet(writer);
  });

  test("`lost` on the event channel resets every flowing watch, and events go on", async () => {
    const watcher = await open();
    const recorder = await watching(watcher);
    await redisCli(server.port, "PUBLISH", "kvfleet:ev:0", "l");
    await recorder.until("a reset", () => recorder.count("reset") === 1);
    const k = id();
    await watcher.add([k], ["1"]);
    expect(await recorder.next(k, 1)).toEqual([{ op: "set", key: k, value: "1" }]);
    expect(recorder.count("reset")).toBe(1);
  });

  test("a watch does not start while a subscriber of the quiet channel never leaves it", async () => {
    const watcher = await open();
    // A node stuck quiet: subscribed, and deaf to `loud`.
    let confirmed: () => void = () => {};
    const subscribed = new Promise<void>((resolve) => {
      confirmed = resolve;
    });
    const stuck = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      socket: {
        data: (_socket, data) => {
          if (data.toString().includes("subscribe")) confirmed();
        },
      },
    });
    try {
      stuck.write("SUBSCRIBE kvfleet:quiet:0\r\n");
      await subscribed;
      await expect(watching(watcher)).rejects.toThrow(/did not switch/);
    } finally {
      stuck.end();
    }
  }, 20_000);
});
