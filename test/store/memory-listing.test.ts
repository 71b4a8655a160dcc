import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { encodeCursor } from "../../src/store/cursor.ts";
import { examineCap } from "../../src/store/listing.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { KeysPage } from "../../src/store/store.ts";

/** A store on a clock that moves only when told, whose sweep runs only when called. */
function storeWith(indexChunkSize?: number) {
  const clock = { t: 1_000 };
  const store = new MemoryStore({
    now: () => clock.t,
    sweep: { schedule: () => () => {} },
    ...(indexChunkSize === undefined ? {} : { indexChunkSize }),
  });
  return { store, clock };
}

function page(store: MemoryStore, prefix: string, limit: number, cursor?: string): KeysPage {
  const result = store.keys({ prefix, limit, ...(cursor === undefined ? {} : { cursor }) });
  if (result === null) throw new Error("the store refused its own cursor");
  return result;
}

/** Every page of a listing, with nothing changing in between. */
function listAll(store: MemoryStore, prefix: string, limit: number): KeysPage[] {
  const pages: KeysPage[] = [];
  let cursor: string | undefined;
  do {
    const next = page(store, prefix, limit, cursor);
    pages.push(next);
    cursor = next.cursor ?? undefined;
  } while (cursor !== undefined && pages.length < 100_000);
  return pages;
}

const ALPHABET = ["\u0000", "a", "b", "\ud800", "\udc00", "\uffff"];
const keyArb = fc
  .array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 4 })
  .map((units) => units.join(""));

type Action =
  | { do: "set"; key: string; ttl: number | undefined }
  | { do: "remove"; key: string }
  | { do: "advance"; ms: number }
  | { do: "sweep" };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    do: fc.constant("set" as const),
    key: keyArb,
    ttl: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
  }),
  fc.record({ do: fc.constant("remove" as const), key: keyArb }),
  fc.record({ do: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 20 }) }),
  fc.constant({ do: "sweep" as const }),
);

describe("MemoryStore keys() against a model, with changes between pages", () => {
  test("every key live throughout is listed, every listed key is live and has the prefix (seeded)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(keyArb, fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined })), {
          maxLength: 120,
          size: "max",
        }),
        fc.array(fc.array(actionArb, { maxLength: 6 }), { maxLength: 40, size: "max" }),
        fc.constantFrom("", "a", "b", "\ud800", "\u0000", "ab"),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 2, max: 6 }),
        (initial, between, prefix, limit, chunk) => {
          const { store, clock } = storeWith(chunk);
          /** The model: each key's deadline, null when it never expires. */
          const model = new Map<string, number | null>();
          const live = (k: string) => {
            const due = model.get(k);
            return due !== undefined && (due === null || due > clock.t);
          };
          const apply = (action: Action) => {
            if (action.do === "set") {
              store.set([action.key], ["1"], action.ttl);
              model.set(action.key, action.ttl === undefined ? null : clock.t + action.ttl);
            } else if (action.do === "remove") {
              store.remove([action.key]);
              model.delete(action.key);
            } else if (action.do === "advance") {
              clock.t += action.ms;
            } else {
              store.sweep();
            }
          };
          for (const [key, ttl] of initial) apply({ do: "set", key, ttl });
          let throughout = new Set(
            [...model.keys()].filter((k) => k.startsWith(prefix) && live(k)),
          );
          const seen = new Set<string>();
          let cursor: string | undefined;
          for (let n = 0; ; n++) {
            const result = page(store, prefix, limit, cursor);
            expect(result.keys.length).toBeLessThanOrEqual(limit);
            for (const k of result.keys) {
              expect(k.startsWith(prefix)).toBe(true);
              expect(live(k)).toBe(true);
              seen.add(k);
            }
            if (result.cursor === null) break;
            cursor = result.cursor;
            for (const action of between[n] ?? []) {
              apply(action);
              throughout = new Set([...throughout].filter(live));
            }
          }
          for (const k of throughout) expect(seen.has(k)).toBe(true);
          // The store and the model agree on what is left.
          const left = listAll(store, "", 1000).flatMap((p) => p.keys);
          expect(new Set(left)).toEqual(new Set([...model.keys()].filter(live)));
        },
      ),
      { seed: 424242, numRuns: 300 },
    );
  });
});

describe("MemoryStore keys()", () => {
  test("without changes, lists each key exactly once, in code-unit order, in full pages", () => {
    const { store } = storeWith(8);
    const keys = ["\ud800z", "\u0000", "a\u0000", "a", "\uffff", "\udc00", "a\ud800", "ab", "b"];
    const many = Array.from({ length: 200 }, (_, i) => `m${i}`);
    store.set(
      [...keys, ...many],
      [...keys, ...many].map(() => "1"),
    );
    const pages = listAll(store, "", 7);
    const listed = pages.flatMap((p) => p.keys);
    expect(listed).toEqual([...keys, ...many].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    // Full pages, and no empty page before the end: the last page knows it is the last.
    for (const p of pages.slice(0, -1)) expect(p.keys).toHaveLength(7);
    expect(pages.at(-1)?.keys.length).toBeGreaterThan(0);
    expect(pages.at(-1)?.cursor).toBeNull();
  });

  test("a page looks at no more than 10 x limit keys: a run of expired ones gives short pages", () => {
    const { store, clock } = storeWith();
    const expired = Array.from({ length: 5000 }, (_, i) => `e${String(i).padStart(5, "0")}`);
    store.set(
      expired,
      expired.map(() => "1"),
      10,
    );
    store.set(["f1", "f2", "f3"], ["1", "1", "1"]);
    clock.t += 10;
    const limit = 10;
    const first = page(store, "", limit);
    expect(first.keys).toEqual([]);
    expect(first.cursor).not.toBeNull();
    // The keys it passed over were reclaimed, exactly the ones it looked at.
    expect(store.count()).toBe(5003 - examineCap(limit));
    const rest = listAll(store, "", limit);
    expect(rest.flatMap((p) => p.keys)).toEqual(["f1", "f2", "f3"]);
    expect(rest.length).toBeGreaterThanOrEqual((5000 - examineCap(limit)) / examineCap(limit));
    expect(store.count()).toBe(3);
  });

  test("a cursor resumes after its key even when that key is gone, and ends past the prefix", () => {
    const { store } = storeWith(4);
    const keys = Array.from({ length: 20 }, (_, i) => `p${String(i).padStart(2, "0")}`);
    store.set(
      keys,
      keys.map(() => "1"),
    );
    const first = page(store, "p", 5);
    expect(first.keys).toEqual(keys.slice(0, 5));
    store.remove(keys.slice(3, 8));
    store.set(["p045"], ["1"]);
    const second = page(store, "p", 5, first.cursor as string);
    expect(second.keys).toEqual(["p045", "p08", "p09", "p10", "p11"]);
    // The same cursor with a prefix the cursor's key is past: nothing left to list.
    expect(page(store, "a", 5, first.cursor as string)).toEqual({ keys: [], cursor: null });
    // And with a prefix after it: that prefix from its start.
    store.set(["q1"], ["1"]);
    expect(page(store, "q", 5, first.cursor as string)).toEqual({ keys: ["q1"], cursor: null });
  });

  test("cursors another store, another shape or nobody made are refused with null", () => {
    const { store } = storeWith();
    store.set(["a", "b"], ["1", "1"]);
    const good = page(store, "", 1).cursor as string;
    const forged = [
      "",
      "x",
      good.slice(0, -1),
      `${good.slice(0, -2)}AA`,
      encodeCursor("redis", { after: "a" }),
      encodeCursor("memory", "a"),
      encodeCursor("memory", { after: 5 }),
      encodeCursor("memory", null),
      encodeCursor("memory", { x: "a" }),
    ];
    for (const cursor of forged) expect(store.keys({ prefix: "", limit: 10, cursor })).toBeNull();
    expect(store.keys({ prefix: "", limit: 10, cursor: good })).toEqual({
      keys: ["b"],
      cursor: null,
    });
  });
});
