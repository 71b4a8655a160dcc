import { describe, expect, test } from "bun:test";
import { Status } from "../../src/protocol/status.ts";
import { ENTRY_OVERHEAD, FULL_REPORT_INTERVAL_MS, MemoryStore } from "../../src/store/memory.ts";
import { storeSuite } from "./store-suite.ts";

storeSuite("memory", async () => new MemoryStore());
storeSuite("memory with a limit", async () => new MemoryStore({ maxMemory: 2 ** 30 }));

/** What the store counts for one entry. */
const cost = (key: string, value: string) => key.length + value.length + ENTRY_OVERHEAD;

/** A JSON string value of exactly `n` characters. */
const text = (n: number, fill = "x") => `"${fill.repeat(n - 2)}"`;

type Report = { bytes: number; limit: number; refused: number };

/** A store limited to exactly `entries` entries of key `k<i>` (2 characters) and a 100-character value. */
function storeFor(entries: number, reports: Report[] = [], now = () => 0) {
  const limit = entries * cost("k0", text(100));
  const store = new MemoryStore(
    { maxMemory: limit, now },
    { up() {}, down() {}, full: (report) => reports.push(report) },
  );
  const keys = Array.from({ length: entries }, (_, i) => `k${i}`);
  return { store, limit, keys, values: keys.map(() => text(100)) };
}

describe("MemoryStore events", () => {
  test("reports up once, right after construction, as a store that can't go down", async () => {
    const seen: string[] = [];
    new MemoryStore(
      {},
      { up: () => seen.push("up"), down: () => seen.push("down"), full: () => seen.push("full") },
    );
    expect(seen).toEqual([]);
    await Promise.resolve();
    expect(seen).toEqual(["up"]);
  });
});

describe("MemoryStore size estimate", () => {
  test("counts key + value + ENTRY_OVERHEAD per entry, also without a limit", () => {
    const store = new MemoryStore();
    expect(store.usage()).toEqual({ bytes: 0, limit: 0, full: false });
    store.set(["a", "bb"], ["1", '"xyz"']);
    expect(store.usage().bytes).toBe(cost("a", "1") + cost("bb", '"xyz"'));
    // A replacement counts the difference, up or down.
    store.set(["a"], ["12345"]);
    expect(store.usage().bytes).toBe(cost("a", "12345") + cost("bb", '"xyz"'));
    store.set(["bb"], ["0"]);
    expect(store.usage().bytes).toBe(cost("a", "12345") + cost("bb", "0"));
    store.append(["a"], ["[1]"]);
    expect(store.usage().bytes).toBe(cost("a", "12345") + cost("bb", "0"));
    store.set(["a"], ["[1]"]);
    store.append(["a"], ["[2,3]"]);
    expect(store.get(["a"])).toEqual(["[1,2,3]"]);
    expect(store.usage().bytes).toBe(cost("a", "[1,2,3]") + cost("bb", "0"));
    store.add(["c", "a"], ["true", "false"]);
    expect(store.usage().bytes).toBe(cost("a", "[1,2,3]") + cost("bb", "0") + cost("c", "true"));
    store.remove(["bb", "missing"]);
    expect(store.usage().bytes).toBe(cost("a", "[1,2,3]") + cost("c", "true"));
    expect(store.clear()).toBe(2);
    expect(store.usage().bytes).toBe(0);
  });

  test("without a limit nothing is refused", () => {
    const store = new MemoryStore();
    const keys = Array.from({ length: 1000 }, (_, i) => `key${i}`);
    const statuses = store.set(
      keys,
      keys.map(() => text(10_000)),
    );
    expect(statuses.every((st) => st === Status.KeySet)).toBe(true);
    expect(store.usage()).toEqual({
      bytes: keys.reduce((sum, k) => sum + cost(k, text(10_000)), 0),
      limit: 0,
      full: false,
    });
  });
});

describe("MemoryStore with a memory limit", () => {
  test("stores up to the limit exactly; the key that would go over answers 100 and is not stored", () => {
    const { store, limit, keys, values } = storeFor(3);
    expect(store.set(keys, values)).toEqual([Status.KeySet, Status.KeySet, Status.KeySet]);
    expect(store.usage()).toEqual({ bytes: limit, limit, full: false });
    expect(store.set(["k3"], [text(100)])).toEqual([Status.Unknown]);
    expect(store.get(["k3"])).toEqual([Status.KeyNotExist]);
    expect(store.contains(["k3"])).toEqual([Status.KeyNotExist]);
    expect(store.count()).toBe(3);
    expect(store.usage()).toEqual({ bytes: limit, limit, full: true });
    // Reads still work.
    expect(store.get(keys)).toEqual(values);
  });

  test("the keys of one command are judged on their own, in order", () => {
    const { store, limit } = storeFor(2);
    const big = text(limit);
    expect(store.set(["k0", "big", "k1"], [text(100), big, text(100)])).toEqual([
      Status.KeySet,
      Status.Unknown,
      Status.KeySet,
    ]);
    expect(store.get(["k0", "big", "k1"])).toEqual([text(100), Status.KeyNotExist, text(100)]);
    expect(store.set(["k2", "k0"], [text(100), text(100, "y")])).toEqual([
      Status.Unknown,
      Status.KeyUpdated,
    ]);
  });

  test("an entry larger than the whole limit is refused in an empty store", () => {
    const store = new MemoryStore({ maxMemory: 1000 });
    expect(store.set(["k"], [text(1000)])).toEqual([Status.Unknown]);
    expect(store.add(["k"], [text(1000)])).toEqual([Status.Unknown]);
    expect(store.usage()).toEqual({ bytes: 0, limit: 1000, full: true });
    expect(store.count()).toBe(0);
  });

  test("when full, a replacement no larger works; a larger one answers 100 and keeps the old value", () => {
    const { store, limit, keys, values } = storeFor(2);
    store.set(keys, values);
    expect(store.set(["k0"], [text(100, "y")])).toEqual([Status.KeyUpdated]);
    expect(store.set(["k1"], [text(10)])).toEqual([Status.KeyUpdated]);
    expect(store.usage().bytes).toBe(limit - 90);
    expect(store.set(["k0"], [text(191)])).toEqual([Status.Unknown]);
    expect(store.get(["k0"])).toEqual([text(100, "y")]);
    // Exactly the room the shrink made.
    expect(store.set(["k0"], [text(190)])).toEqual([Status.KeyUpdated]);
    expect(store.usage().bytes).toBe(limit);
  });

  test("add: an existing key answers 23 even when full; a new one over the limit 100", () => {
    const { store, keys, values } = storeFor(2);
    expect(store.add(keys, values)).toEqual([Status.KeySet, Status.KeySet]);
    expect(store.add(["k0", "k2"], ["1", "1"])).toEqual([Status.KeyExists, Status.Unknown]);
    expect(store.get(["k0", "k2"])).toEqual([text(100), Status.KeyNotExist]);
  });

  test("append: growth over the limit answers 100 and leaves the value; no growth, 22 and 41 as usual", () => {
    const { store, limit } = storeFor(2);
    store.set(["k0", "k1"], [`[${"1,".repeat(48)}1]`, text(100)]);
    expect(store.usage().bytes).toBe(limit - 1);
    expect(store.append(["k0"], ["[2,3]"])).toEqual([Status.Unknown]);
    expect(store.get(["k0"])).toEqual([`[${"1,".repeat(48)}1]`]);
    expect(store.append(["k0", "k0"], ["[]", "[2]"])).toEqual([Status.Ok, Status.Unknown]);
    expect(store.append(["missing", "k1"], ["[1]", "[1]"])).toEqual([
      Status.KeyNotExist,
      Status.ValueTypeInvalid,
    ]);
    // Two characters of room: a string may grow by two.
    store.set(["k1"], [text(99)]);
    expect(store.append(["k1"], ['"ab"'])).toEqual([Status.Ok]);
    expect(store.usage().bytes).toBe(limit);
  });

  test("removes and clear make room again", () => {
    const { store, limit, keys, values } = storeFor(3);
    store.set(keys, values);
    expect(store.set(["new1"], [text(100)])).toEqual([Status.Unknown]);
    expect(store.remove(["k0", "k1"])).toEqual([Status.KeyRemoved, Status.KeyRemoved]);
    expect(store.usage().full).toBe(false);
    expect(store.set(["k8", "k9", "new1"], [text(100), text(100), text(100)])).toEqual([
      Status.KeySet,
      Status.KeySet,
      Status.Unknown,
    ]);
    expect(store.clear()).toBe(3);
    expect(store.usage()).toEqual({ bytes: 0, limit, full: false });
    expect(store.set(keys, values)).toEqual([Status.KeySet, Status.KeySet, Status.KeySet]);
  });

  test("full: set by a refusal; cleared by a write that grows or makes room, not by reads or same-size writes", () => {
    const { store, keys } = storeFor(2);
    store.set(["k0"], [text(50)]);
    expect(store.set(["k1", "k2"], [text(100), text(10)])).toEqual([Status.KeySet, Status.Unknown]);
    expect(store.usage().full).toBe(true);
    store.get(keys);
    store.contains(keys);
    store.count();
    store.set(["k1"], [text(100, "z")]);
    store.add(["k1"], ["1"]);
    store.append(["k1"], ['""']);
    store.remove(["absent"]);
    expect(store.usage().full).toBe(true);
    // A write that still fits grows the store: it was not full for that one.
    expect(store.set(["k0"], [text(51)])).toEqual([Status.KeyUpdated]);
    expect(store.usage().full).toBe(false);
    expect(store.set(["k0"], [text(200)])).toEqual([Status.Unknown]);
    expect(store.usage().full).toBe(true);
    store.set(["k0"], [text(40)]);
    expect(store.usage().full).toBe(false);
  });

  test("full reports: at the first refusal, then at most once per interval, counting refusals since the last", () => {
    const reports: Report[] = [];
    let clock = 1_000;
    const { store, limit, keys, values } = storeFor(1, reports, () => clock);
    store.set(keys, values);
    expect(reports).toEqual([]);
    expect(store.set(["a", "b", "c"], values.concat(values, values))).toEqual([
      Status.Unknown,
      Status.Unknown,
      Status.Unknown,
    ]);
    expect(reports).toEqual([{ bytes: limit, limit, refused: 1 }]);
    clock += FULL_REPORT_INTERVAL_MS - 1;
    store.add(["d"], values);
    expect(reports).toHaveLength(1);
    // Room made and filled again within the interval: still no second line.
    store.remove(keys);
    store.set(keys, values);
    clock += 1;
    store.append(keys, ['"more"']);
    expect(reports).toEqual([
      { bytes: limit, limit, refused: 1 },
      { bytes: limit, limit, refused: 4 },
    ]);
    clock += 10 * FULL_REPORT_INTERVAL_MS;
    expect(reports).toHaveLength(2);
    store.set(["e"], values);
    expect(reports.at(-1)).toEqual({ bytes: limit, limit, refused: 1 });
  });
});
