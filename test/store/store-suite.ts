import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Status } from "../../src/protocol/status.ts";
import { type Change, MAX_TTL, type Store } from "../../src/store/store.ts";
import { APPEND_COMBINED, APPEND_MISMATCHED } from "../support/append-cases.ts";
import { Recorder } from "./change-recorder.ts";

/**
 * The contract every Store implementation honours. `open` must give a store
 * that is connected and empty; `dispose` releases it after each test.
 * `openAnother`, where the store can have one, gives a second store on the
 * same data (another node's), which the suite closes itself.
 */
export function storeSuite(
  name: string,
  open: () => Promise<Store>,
  dispose: (store: Store) => Promise<void> = (store) => store.close(),
  openAnother?: () => Promise<Store>,
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await dispose(store);
    });

    const key = (label: string) => `${label}:${crypto.randomUUID()}`;

    test("set answers 20 for a new key, 21 for an existing one, and get reads it back", async () => {
      const k = key("set");
      expect(await store.set([k], ["1"])).toEqual([Status.KeySet]);
      expect(await store.set([k], ['{"a":[1,2]}'])).toEqual([Status.KeyUpdated]);
      expect(await store.get([k])).toEqual(['{"a":[1,2]}']);
    });

    test("add stores only new keys and leaves existing values untouched", async () => {
      const k = key("add");
      expect(await store.add([k], ['"first"'])).toEqual([Status.KeySet]);
      expect(await store.add([k], ['"second"'])).toEqual([Status.KeyExists]);
      expect(await store.get([k])).toEqual(['"first"']);
    });

    test("get, remove and contains answer 22 for a missing key", async () => {
      const k = key("missing");
      expect(await store.get([k])).toEqual([Status.KeyNotExist]);
      expect(await store.remove([k])).toEqual([Status.KeyNotExist]);
      expect(await store.contains([k])).toEqual([Status.KeyNotExist]);
    });

    test("remove answers 24 then 22 for the same key named twice", async () => {
      const k = key("rmv");
      await store.set([k], ["null"]);
      expect(await store.contains([k])).toEqual([Status.KeyExists]);
      expect(await store.remove([k, k])).toEqual([Status.KeyRemoved, Status.KeyNotExist]);
      expect(await store.contains([k])).toEqual([Status.KeyNotExist]);
    });

    test("keys are exact strings: lone surrogates, NUL and look-alikes stay distinct", async () => {
      const id = crypto.randomUUID();
      const keys = [
        `\ud800${id}`,
        `\udc00${id}`,
        `\ufffd${id}`,
        `\u0000"\\ud800${id}"`,
        `\u0000${id}`,
        id,
      ];
      expect(
        await store.set(
          keys,
          keys.map((_, i) => String(i)),
        ),
      ).toEqual(keys.map(() => Status.KeySet));
      expect(await store.get(keys)).toEqual(keys.map((_, i) => String(i)));
      expect(await store.remove([keys[0] as string])).toEqual([Status.KeyRemoved]);
      expect(await store.contains(keys)).toEqual(
        keys.map((_, i) => (i === 0 ? Status.KeyNotExist : Status.KeyExists)),
      );
    });

    test("a batch answers one result per key, in order", async () => {
      const keys = Array.from({ length: 50 }, (_, i) => key(`batch${i}`));
      const existing = keys.filter((_, i) => i % 3 === 0);
      await store.set(
        existing,
        existing.map(() => "0"),
      );
      const values = keys.map((_, i) => `[${i}]`);
      expect(await store.set(keys, values)).toEqual(
        keys.map((_, i) => (i % 3 === 0 ? Status.KeyUpdated : Status.KeySet)),
      );
      const extra = key("absent");
      expect(await store.get([...keys, extra])).toEqual([...values, Status.KeyNotExist]);
    });

    test("values keep their exact text: big numbers, decimals, empty and nested containers", async () => {
      const values = [
        "18446744073709551617",
        "9007199254740993",
        "0.1",
        "1e21",
        "1e400",
        "-0.000000000000000000000000001",
        "[]",
        "{}",
        '[[],{},[{}],{"a":[]}]',
        '{"10":1,"2":2,"b":3,"1":4}',
        '"\\ud800 lone, \\u00e9 escaped, é raw, 😀"',
        "true",
        "false",
        "null",
      ];
      const keys = values.map((_, i) => key(`exact${i}`));
      await store.set(keys, values);
      expect(await store.get(keys)).toEqual(values);
    });

    describe("append", () => {
      for (const [label, stored, added, combined] of APPEND_COMBINED) {
        test(`${label} answers 1 and combines`, async () => {
          const k = key("append");
          await store.set([k], [stored]);
          expect(await store.append([k], [added])).toEqual([Status.Ok]);
          expect(await store.get([k])).toEqual([combined]);
        });
      }

      for (const [stored, added] of APPEND_MISMATCHED) {
        test(`${stored} + ${added} answers 41 and leaves the value untouched`, async () => {
          const k = key("append41");
          await store.set([k], [stored]);
          expect(await store.append([k], [added])).toEqual([Status.ValueTypeInvalid]);
          expect(await store.get([k])).toEqual([stored]);
        });
      }

      test("a missing key answers 22 and stays missing", async () => {
        const k = key("append22");
        expect(await store.append([k], ["[1]"])).toEqual([Status.KeyNotExist]);
        expect(await store.get([k])).toEqual([Status.KeyNotExist]);
      });

      test("a batch appends each key in order, the same key twice included", async () => {
        const a = key("appendA");
        const b = key("appendB");
        await store.set([a, b], ["[]", '"x"']);
        expect(await store.append([a, b, a], ["[1]", "[2]", "[3]"])).toEqual([
          Status.Ok,
          Status.ValueTypeInvalid,
          Status.Ok,
        ]);
        expect(await store.get([a, b])).toEqual(["[1,3]", '"x"']);
      });
    });

    test("count covers the whole store and clear empties it, answering how many it deleted", async () => {
      expect(await store.count()).toBe(0);
      const keys = Array.from({ length: 25 }, (_, i) => key(`count${i}`));
      await store.set(
        keys,
        keys.map(() => "1"),
      );
      expect(await store.count()).toBe(25);
      expect(await store.clear()).toBe(25);
      expect(await store.count()).toBe(0);
      expect(await store.get([keys[0] as string])).toEqual([Status.KeyNotExist]);
      expect(await store.clear()).toBe(0);
    });

    describe("expiry", () => {
      /** Long enough that the key surely lives through the checks made before it ends. */
      const SHORT = 200;
      /** Waits until `ms` have passed since `since`, plus a margin for Redis's clock. */
      const until = (since: number, ms: number) =>
        Bun.sleep(Math.max(0, since + ms + 5 - performance.now()));
      const gone = async (k: string) => {
        expect(await store.get([k])).toEqual([Status.KeyNotExist]);
        expect(await store.contains([k])).toEqual([Status.KeyNotExist]);
        expect(await store.ttl([k])).toEqual([Status.KeyNotExist]);
        expect(await store.append([k], ["[1]"])).toEqual([Status.KeyNotExist]);
        expect(await store.expire([k], [1000])).toEqual([Status.KeyNotExist]);
        expect(await store.persist([k])).toEqual([Status.KeyNotExist]);
        expect(await store.remove([k])).toEqual([Status.KeyNotExist]);
      };

      test("a key set with a ttl reads until it expires, then behaves as missing everywhere", async () => {
        const k = key("ttl");
        const started = performance.now();
        expect(await store.set([k], ["[0]"], SHORT)).toEqual([Status.KeySet]);
        expect(await store.get([k])).toEqual(["[0]"]);
        const [left] = await store.ttl([k]);
        // toEqual, not toMatchObject: Bun's toMatchObject writes the matcher into `left` (oven-sh/bun#3521).
        expect(left).toEqual({ ms: expect.any(Number) });
        const ms = (left as { ms: number }).ms;
        expect(ms).toBeGreaterThan(0);
        expect(ms).toBeLessThanOrEqual(SHORT);
        await until(started, SHORT);
        await gone(k);
      });

      test("set and add answer 20 for an expired key, as for a new one", async () => {
        const a = key("expiredSet");
        const b = key("expiredAdd");
        const started = performance.now();
        await store.set([a, b], ["1", "1"], 1);
        await until(started, 1);
        expect(await store.set([a], ["2"])).toEqual([Status.KeySet]);
        expect(await store.add([b], ["3"])).toEqual([Status.KeySet]);
        expect(await store.get([a, b])).toEqual(["2", "3"]);
        expect(await store.ttl([a, b])).toEqual([{ ms: null }, { ms: null }]);
      });

      test("set without a ttl drops the expiry; set with one replaces it", async () => {
        const k = key("drop");
        await store.set([k], ["1"], 60_000);
        expect(await store.set([k], ["2"])).toEqual([Status.KeyUpdated]);
        expect(await store.ttl([k])).toEqual([{ ms: null }]);
        expect(await store.set([k], ["3"], 5000)).toEqual([Status.KeyUpdated]);
        const [left] = (await store.ttl([k])) as { ms: number }[];
        expect(left?.ms).toBeGreaterThan(4000);
        expect(left?.ms).toBeLessThanOrEqual(5000);
      });

      test("add with a ttl sets it only on the keys it adds", async () => {
        const existing = key("addOld");
        const added = key("addNew");
        await store.set([existing], ["1"]);
        expect(await store.add([existing, added], ["2", "3"], 60_000)).toEqual([
          Status.KeyExists,
          Status.KeySet,
        ]);
        const [old, fresh] = await store.ttl([existing, added]);
        expect(old).toEqual({ ms: null });
        expect((fresh as { ms: number }).ms).toBeGreaterThan(50_000);
      });

      test("append keeps the key's expiry", async () => {
        const k = key("appendTtl");
        await store.set([k], ["[1]"], 60_000);
        expect(await store.append([k], ["[2]"])).toEqual([Status.Ok]);
        expect(await store.get([k])).toEqual(["[1,2]"]);
        expect(((await store.ttl([k]))[0] as { ms: number }).ms).toBeGreaterThan(50_000);
      });

      test("expire sets an expiry on an existing key and answers 22 for a missing one", async () => {
        const k = key("expire");
        const missing = key("expireMissing");
        await store.set([k], ["1"]);
        const started = performance.now();
        expect(await store.expire([k, missing], [SHORT, SHORT])).toEqual([
          Status.Ok,
          Status.KeyNotExist,
        ]);
        expect(((await store.ttl([k]))[0] as { ms: number }).ms).toBeLessThanOrEqual(SHORT);
        expect(await store.get([k])).toEqual(["1"]);
        await until(started, SHORT);
        await gone(k);
      });

      test("persist answers 1 with or without an expiry, 22 for a missing key", async () => {
        const expiring = key("persistTtl");
        const plain = key("persistPlain");
        const missing = key("persistMissing");
        await store.set([expiring], ["1"], 60_000);
        await store.set([plain], ["2"]);
        expect(await store.persist([expiring, plain, missing])).toEqual([
          Status.Ok,
          Status.Ok,
          Status.KeyNotExist,
        ]);
        expect(await store.ttl([expiring, plain, missing])).toEqual([
          { ms: null },
          { ms: null },
          Status.KeyNotExist,
        ]);
      });

      test("the longest ttl is accepted and reported", async () => {
        const k = key("ttlMax");
        expect(await store.set([k], ["1"], MAX_TTL)).toEqual([Status.KeySet]);
        const ms = ((await store.ttl([k]))[0] as { ms: number }).ms;
        expect(ms).toBeGreaterThan(MAX_TTL - 60_000);
        expect(ms).toBeLessThanOrEqual(MAX_TTL);
      });
    });

    describe("keys", () => {
      /** Every key a listing returns, page by page, with the pages' sizes. */
      async function listAll(
        prefix: string,
        limit: number,
        between?: (page: number) => Promise<void>,
      ) {
        const seen: string[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 10_000; page++) {
          const result = await store.keys({ prefix, limit, ...(cursor ? { cursor } : {}) });
          if (result === null) throw new Error("the store refused its own cursor");
          seen.push(...result.keys);
          sizes.push(result.keys.length);
          if (result.cursor === null) return { seen, sizes };
          expect(typeof result.cursor).toBe("string");
          cursor = result.cursor;
          await between?.(page);
        }
        throw new Error("the listing never ended");
      }

      test("lists exactly the keys with the prefix, in pages of at most limit keys", async () => {
        const prefix = key("list");
        const keys = Array.from({ length: 250 }, (_, i) => `${prefix}:${i}`);
        await store.set(
          keys,
          keys.map(() => "1"),
        );
        await store.set([`${prefix.slice(0, -1)}`, `x${prefix}`], ["1", "1"]);
        const { seen, sizes } = await listAll(prefix, 40);
        expect(new Set(seen)).toEqual(new Set(keys));
        for (const size of sizes) expect(size).toBeLessThanOrEqual(40);
      });

      test("an empty prefix lists every key, and an empty store gives one empty last page", async () => {
        expect(await store.keys({ prefix: "", limit: 100 })).toEqual({ keys: [], cursor: null });
        const keys = Array.from({ length: 30 }, (_, i) => key(`all${i}`));
        await store.set(
          keys,
          keys.map(() => "1"),
        );
        expect(new Set((await listAll("", 7)).seen)).toEqual(new Set(keys));
      });

      test("a prefix is matched literally: glob characters, backslashes, odd keys", async () => {
        const id = crypto.randomUUID();
        const prefix = `p*?[a-z]\\${id}`;
        const matching = [`${prefix}`, `${prefix}x`, `${prefix}\ud800`, `${prefix}\u0000`];
        const odd = [`\ud800${id}`, `\u0000${id}`];
        const others = [`pX?[a-z]\\${id}`, `p*?a\\${id}`, `p*?[a-z]${id}`];
        const all = [...matching, ...odd, ...others];
        await store.set(
          all,
          all.map(() => "1"),
        );
        expect(new Set((await listAll(prefix, 3)).seen)).toEqual(new Set(matching));
        expect(new Set((await listAll(`\ud800${id}`, 3)).seen)).toEqual(
          new Set([odd[0] as string]),
        );
        expect(new Set((await listAll(`\u0000${id}`, 3)).seen)).toEqual(
          new Set([odd[1] as string]),
        );
        // A prefix ending in half of a surrogate pair matches the keys that complete the pair.
        const pair = [`${id}\ud83d\ude00`, `${id}\ud83d`];
        await store.set(
          pair,
          pair.map(() => "1"),
        );
        expect(new Set((await listAll(`${id}\ud83d`, 3)).seen)).toEqual(new Set(pair));
        const everything = new Set((await listAll("", 3)).seen);
        for (const k of all) expect(everything.has(k)).toBe(true);
      });

      test("keys present throughout a listing are listed despite inserts and removals between pages", async () => {
        const prefix = key("churn");
        const stable = Array.from({ length: 300 }, (_, i) => `${prefix}:s${i}`);
        const doomed = Array.from({ length: 300 }, (_, i) => `${prefix}:d${i}`);
        await store.set(
          [...stable, ...doomed],
          [...stable, ...doomed].map(() => "1"),
        );
        const { seen } = await listAll(prefix, 25, async (page) => {
          const added = Array.from({ length: 20 }, (_, i) => `${prefix}:n${page}-${i}`);
          await store.set(
            added,
            added.map(() => "2"),
          );
          await store.remove(doomed.slice(page * 20, page * 20 + 20));
        });
        const listed = new Set(seen);
        for (const k of stable) expect(listed.has(k)).toBe(true);
        for (const k of seen) expect(k.startsWith(prefix)).toBe(true);
      });

      test("expired keys are left out", async () => {
        const prefix = key("expiredList");
        const started = performance.now();
        await store.set([`${prefix}:gone`], ["1"], 1);
        await store.set([`${prefix}:kept`], ["1"]);
        await Bun.sleep(Math.max(0, started + 6 - performance.now()));
        expect((await listAll(prefix, 10)).seen).toEqual([`${prefix}:kept`]);
      });

      test("a cursor the store did not make is refused with null", async () => {
        await store.set([key("cursor")], ["1"]);
        for (const cursor of ["", "x", "abc.def", "eyJhIjoxfQ.AAAAAAAAAAAA"]) {
          expect(await store.keys({ prefix: "", limit: 10, cursor })).toBeNull();
        }
        const page = await store.keys({ prefix: "", limit: 1 });
        expect(page).not.toBeNull();
      });
    });

    describe("changes", () => {
      const stops: (() => Promise<void>)[] = [];
      afterEach(async () => {
        await Promise.all(stops.splice(0).map((stop) => stop()));
      });
      /** A live listener of `on`, stopped after the test. */
      async function watching(on: Store = store): Promise<Recorder> {
        const recorder = new Recorder();
        stops.push(await on.watch(recorder));
        return recorder;
      }
      const set = (k: string, value: string): Change => ({ op: "set", key: k, value });
      const END = '"end"';
      /**
       * Writes END to each key, then waits for it: per-key order puts any
       * event an earlier write should not have sent before it, so the key's
       * events up to END are exactly what the writes before sent.
       */
      async function ended(recorder: Recorder, keys: string[]): Promise<void> {
        await store.set(
          keys,
          keys.map(() => END),
        );
        await recorder.until("the END of every key", () =>
          keys.every((k) => {
            const last = recorder.of(k).at(-1);
            return last?.op === "set" && last.value === END;
          }),
        );
      }

      test("set and add send set with the value stored, alone, in a group, with a ttl, for odd keys too", async () => {
        const r = await watching();
        const [a, b, c, d] = [key("evSetA"), key("evSetB"), key("evAddC"), key("evAddD")];
        const odd = [`\ud800${a}`, `\u0000${a}`, `\u{1f600}${a}`];
        await store.set([a], ["1"]);
        await store.set([a, b, ...odd], ['{"x":[1]}', '"two"', "0", "1", "2"]);
        await store.set([b], ["3"], 60_000);
        await store.add([c], ["[1]"]);
        await store.add([d, c, a], ["[2]", "[9]", "9"], 60_000);
        await store.add([c], ["[10]"]);
        await ended(r, [a, b, c, d, ...odd]);
        expect(r.of(a)).toEqual([set(a, "1"), set(a, '{"x":[1]}'), set(a, END)]);
        expect(r.of(b)).toEqual([set(b, '"two"'), set(b, "3"), set(b, END)]);
        expect(r.of(c)).toEqual([set(c, "[1]"), set(c, END)]);
        expect(r.of(d)).toEqual([set(d, "[2]"), set(d, END)]);
        for (const [i, k] of odd.entries())
          expect(r.of(k)).toEqual([set(k, String(i)), set(k, END)]);
      });

      test("append sends the whole value after it; one that fails or adds nothing sends nothing", async () => {
        const r = await watching();
        const keys = APPEND_COMBINED.map((_, i) => key(`evAppend${i}`));
        const [mismatched, missing] = [key("evAppend41"), key("evAppend22")];
        await store.set([...keys, mismatched], [...APPEND_COMBINED.map((c) => c[1]), "1"]);
        // The first alone, the rest in one group.
        expect(
          await store.append([keys[0] as string], [APPEND_COMBINED[0]?.[2] as string]),
        ).toEqual([Status.Ok]);
        expect(
          await store.append(
            [...keys.slice(1), mismatched, missing],
            [...APPEND_COMBINED.slice(1).map((c) => c[2]), "[1]", "[1]"],
          ),
        ).toEqual([
          ...keys.slice(1).map(() => Status.Ok),
          Status.ValueTypeInvalid,
          Status.KeyNotExist,
        ]);
        await ended(r, [...keys, mismatched, missing]);
        for (const [i, [, stored, , combined]] of APPEND_COMBINED.entries()) {
          const k = keys[i] as string;
          const appended: Change[] =
            combined === stored ? [] : [{ op: "append", key: k, value: combined }];
          expect(r.of(k)).toEqual([set(k, stored), ...appended, set(k, END)]);
        }
        expect(r.of(mismatched)).toEqual([set(mismatched, "1"), set(mismatched, END)]);
        expect(r.of(missing)).toEqual([set(missing, END)]);
      });

      test("rmv sends rmv, alone and in a group; removing a missing key sends nothing", async () => {
        const r = await watching();
        const [a, b, c, missing] = [key("evRmvA"), key("evRmvB"), key("evRmvC"), key("evRmv22")];
        await store.set([a, b, c], ["1", "2", "3"]);
        await store.remove([a]);
        await store.remove([b, missing, c]);
        await store.remove([a]);
        await ended(r, [a, b, c, missing]);
        expect(r.of(a)).toEqual([set(a, "1"), { op: "rmv", key: a }, set(a, END)]);
        expect(r.of(b)).toEqual([set(b, "2"), { op: "rmv", key: b }, set(b, END)]);
        expect(r.of(c)).toEqual([set(c, "3"), { op: "rmv", key: c }, set(c, END)]);
        expect(r.of(missing)).toEqual([set(missing, END)]);
      });

      test("an expiry sends expire; expire and persist themselves send nothing", async () => {
        const r = await watching();
        const [timed, expiring, persisted, later] = [
          key("evTtl"),
          key("evExpire"),
          key("evPersist"),
          key("evLater"),
        ];
        await store.set([timed], ["1"], 100);
        await store.set([expiring, later], ["2", "3"]);
        await store.set([persisted], ["4"], 60_000);
        await store.expire([expiring, later], [100, 60_000]);
        await store.persist([persisted]);
        await r.until("both expire events", () => r.count("expire") >= 2);
        await ended(r, [persisted, later]);
        expect(r.of(timed)).toEqual([set(timed, "1"), { op: "expire", key: timed }]);
        expect(r.of(expiring)).toEqual([set(expiring, "2"), { op: "expire", key: expiring }]);
        expect(r.of(persisted)).toEqual([set(persisted, "4"), set(persisted, END)]);
        expect(r.of(later)).toEqual([set(later, "3"), set(later, END)]);
      });

      test("clear sends one clear, before the changes made after it", async () => {
        const k = key("evClear");
        await store.set([key("evClearOld")], ["1"]);
        const r = await watching();
        expect(await store.clear()).toBe(1);
        await store.set([k], ["2"]);
        await r.next(k, 1);
        expect(r.count("clear")).toBe(1);
        expect(r.seen.findIndex((e) => e.op === "clear")).toBeLessThan(
          r.seen.findIndex((e) => e.op === "set" && e.key === k),
        );
      });

      test("a listener sees the changes of another store on the same data", async () => {
        if (openAnother === undefined) return; // this kind of store has no second instance
        const other = await openAnother();
        try {
          const here = await watching();
          const there = await watching(other);
          const [a, b] = [key("evOtherA"), key("evOtherB")];
          await other.set([a, b], ["[1]", "1"]);
          await other.append([a], ["[2]"]);
          await store.remove([b]);
          const expected: Change[] = [set(a, "[1]"), { op: "append", key: a, value: "[1,2]" }];
          for (const r of [here, there]) {
            expect(await r.next(a, 2)).toEqual(expected);
            expect(await r.next(b, 2)).toEqual([set(b, "1"), { op: "rmv", key: b }]);
          }
        } finally {
          await other.close();
        }
      });

      test("each key's events come in the order applied, and its last event is what get reads", async () => {
        const r = await watching();
        const keys = [key("evOrder0"), key("evOrder1"), key("evOrder2")];
        await store.set(
          keys,
          keys.map(() => "[]"),
        );
        const writes = Array.from({ length: 120 }, (_, i) => i);
        for (let turn = 0; turn < 4; turn++) {
          // Issued without awaiting, so they gather in groups and interleave.
          await Promise.all(
            writes.slice(turn * 30, turn * 30 + 30).map((i) => {
              const k = keys[i % 3] as string;
              return i % 5 === 0 ? store.set([k], [`[${i}]`]) : store.append([k], [`[${i}]`]);
            }),
          );
        }
        for (const k of keys) await r.next(k, 41);
        const stored = await store.get(keys);
        for (const [j, k] of keys.entries()) {
          const events = r.of(k);
          expect(events).toHaveLength(41);
          let state: number[] = [];
          for (const event of events) {
            if (event.op !== "set" && event.op !== "append") throw new Error(event.op);
            const now = JSON.parse(event.value) as number[];
            // A set starts over; an append adds one number to the state before it.
            if (event.op === "append") expect(now.slice(0, -1)).toEqual(state);
            else expect(now.length).toBeLessThanOrEqual(1);
            state = now;
          }
          expect((events.at(-1) as { value: string }).value).toBe(stored[j] as string);
        }
      });

      test("the stop function ends delivery to its listener only", async () => {
        const stopped = new Recorder();
        const stop = await store.watch(stopped);
        const kept = await watching();
        const [before, after] = [key("evBefore"), key("evAfter")];
        await store.set([before], ["1"]);
        await stopped.next(before, 1);
        await stop();
        await store.set([after], ["2"]);
        await store.remove([before]);
        await kept.next(before, 2);
        await kept.next(after, 1);
        expect(stopped.of(after)).toEqual([]);
        expect(stopped.of(before)).toEqual([set(before, "1")]);
        expect(stopped.count("reset")).toBe(0);
      });
    });

    test("ready answers true while the store serves", async () => {
      expect(await store.ready()).toBe(true);
    });
  });
}
