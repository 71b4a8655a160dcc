import { describe, expect, test } from "bun:test";
import { Status } from "../../src/protocol/status.ts";
import type { RedisStore } from "../../src/store/redis.ts";
import { MAX_GROUP } from "../../src/store/redis-batch.ts";

/** What the coalescing suite needs of a Redis deployment. */
export interface CoalescingTarget {
  /** A ready store on a fresh client over an empty database. */
  open(): Promise<RedisStore>;
  /**
   * `INFO` of every Redis (commandstats and stats) so far: `groupCommands` and
   * `reads` sum over them what a test compares before and after.
   */
  infos(): Promise<string[]>;
  /** Runs a raw command on the Redis holding `key`. */
  raw(key: string, ...args: string[]): Promise<unknown>;
}

/** EVAL, EVALSHA and MGET calls: a per-key path would cost one each. */
function groupCommands(infos: string[]): number {
  let calls = 0;
  for (const info of infos) {
    for (const match of info.matchAll(/^cmdstat_(eval|evalsha|mget):calls=(\d+)/gm)) {
      calls += Number(match[2]);
    }
  }
  return calls;
}

/** Reads of client sockets: a command sent on its own costs one, a pipelined write of many one or two. */
function reads(infos: string[]): number {
  return infos.reduce(
    (sum, info) => sum + Number(/total_reads_processed:(\d+)/.exec(info)?.[1]),
    0,
  );
}

const keysOf = (label: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${label}:${i}:${crypto.randomUUID()}`);

/**
 * Checks what coalescing (store/redis-batch.ts) must keep: per-key order,
 * one result per key in order however keys are grouped, failures per key,
 * and few Redis commands for many calls.
 */
export function coalescingSuite(label: string, target: CoalescingTarget): void {
  describe(`coalescing on ${label}`, () => {
    test("calls made in one turn run in order on each key, across operations", async () => {
      const store = await target.open();
      const [k] = keysOf("order", 1) as [string];
      const others = keysOf("other", 40);
      // Issued without awaiting: all in one turn, interleaved with calls on other keys.
      const results = Promise.all([
        store.set([k], ["[1]"]),
        store.set(
          others,
          others.map(() => "0"),
        ),
        store.get([k]),
        store.append([k], ["[2]"]),
        store.get(others),
        store.get([k]),
        store.remove([k]),
        store.contains([k]),
        store.add([k], ['"new"']),
        store.get([k]),
        store.set([k], ['"last"']),
      ]);
      const [set, , get1, append, othersRead, get2, remove, contains, add, get3, set2] =
        await results;
      expect(set).toEqual([Status.KeySet]);
      expect(get1).toEqual(["[1]"]);
      expect(append).toEqual([Status.Ok]);
      expect(othersRead).toEqual(others.map(() => "0"));
      expect(get2).toEqual(["[1,2]"]);
      expect(remove).toEqual([Status.KeyRemoved]);
      expect(contains).toEqual([Status.KeyNotExist]);
      expect(add).toEqual([Status.KeySet]);
      expect(get3).toEqual(['"new"']);
      expect(set2).toEqual([Status.KeyUpdated]);
      await store.close();
    });

    test(`a call of more keys than one group (${MAX_GROUP}) holds answers every key in order`, async () => {
      const store = await target.open();
      const keys = keysOf("wide", MAX_GROUP * 3 + 7);
      const values = keys.map((_, i) => String(i));
      expect(await store.set(keys, values)).toEqual(keys.map(() => Status.KeySet));
      expect(await store.get(keys)).toEqual(values);
      expect(await store.add(keys, values)).toEqual(keys.map(() => Status.KeyExists));
      expect(await store.contains(keys)).toEqual(keys.map(() => Status.KeyExists));
      expect(await store.remove(keys)).toEqual(keys.map(() => Status.KeyRemoved));
      await store.close();
    });

    test("the same key twice in one group: the first set creates, the second updates", async () => {
      const store = await target.open();
      const [k] = keysOf("twice", 1) as [string];
      const [a, b] = await Promise.all([store.set([k, k], ["1", "2"]), store.set([k], ["3"])]);
      expect(a).toEqual([Status.KeySet, Status.KeyUpdated]);
      expect(b).toEqual([Status.KeyUpdated]);
      expect(await store.get([k])).toEqual(["3"]);
      await store.close();
    });

    test("200 one-key calls in one turn reach Redis in a handful of reads; gets in a few MGETs", async () => {
      const store = await target.open();
      const keys = keysOf("few", 200);
      const before = await target.infos();
      const sets = await Promise.all(keys.map((key) => store.set([key], ["1"])));
      const middle = await target.infos();
      const gets = await Promise.all(keys.map((key) => store.get([key])));
      const after = await target.infos();
      expect(sets.flat()).toEqual(keys.map(() => Status.KeySet));
      expect(gets.flat()).toEqual(keys.map(() => "1"));
      // The first call of a turn goes alone when nothing is in flight; the rest gather into
      // one command per master, or (a quiet single Redis's sets) one write of plain commands.
      // The INFO calls themselves cost a read each.
      expect(reads(middle) - reads(before)).toBeLessThan(20);
      expect(reads(after) - reads(middle)).toBeLessThan(20);
      expect(groupCommands(after) - groupCommands(middle)).toBeLessThan(10);
      await store.close();
    });

    test("a key holding another type fails alone; the rest of its group succeeds", async () => {
      const store = await target.open();
      const [a, list, b] = keysOf("typed", 3) as [string, string, string];
      await target.raw(list, "RPUSH", list, "x");
      expect(await store.set([a, list, b], ["1", "2", "3"])).toEqual([
        Status.KeySet,
        Status.Unknown,
        Status.KeySet,
      ]);
      expect(await store.get([a, list, b])).toEqual(["1", Status.KeyNotExist, "3"]);
      expect(await store.get([list])).toEqual([Status.KeyNotExist]);
      expect(await store.append([a, list], ["2", "[1]"])).toEqual([
        Status.ValueTypeInvalid,
        Status.Unknown,
      ]);
      expect(await store.add([list, b], ["1", "1"])).toEqual([Status.KeyExists, Status.KeyExists]);
      expect(await store.contains([list])).toEqual([Status.KeyExists]);
      expect(await store.remove([a, list, b])).toEqual([
        Status.KeyRemoved,
        Status.KeyRemoved,
        Status.KeyRemoved,
      ]);
      await store.close();
    });
  });
}
