import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SortedKeys } from "../../src/store/sorted-keys.ts";

/**
 * Short keys from a small alphabet, so that random inserts and deletes hit
 * the same keys often, share prefixes, and include the code units that sort
 * at the edges: NUL, both halves of a surrogate pair alone, U+FFFF.
 */
const ALPHABET = ["\u0000", "a", "b", "\ud800", "\udc00", "\uffff"];
const keyArb = fc
  .array(fc.constantFrom(...ALPHABET), { minLength: 0, maxLength: 4 })
  .map((units) => units.join(""));

type Op =
  | { op: "insert"; key: string }
  | { op: "delete"; key: string }
  | { op: "scan"; key: string; inclusive: boolean; take: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: keyArb.map((key) => ({ op: "insert" as const, key })) },
  { weight: 3, arbitrary: keyArb.map((key) => ({ op: "delete" as const, key })) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("scan" as const),
      key: keyArb,
      inclusive: fc.boolean(),
      take: fc.integer({ min: 1, max: 40 }),
    }),
  },
);

/** JS string order by UTF-16 code units, which the index promises. */
const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe("SortedKeys against a sorted-array model", () => {
  test("random inserts, deletes and scans agree with the model (seeded)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.array(opArb, { minLength: 20, maxLength: 300, size: "max" }),
        (chunk, ops) => {
          const index = new SortedKeys(chunk);
          const model = new Set<string>();
          for (const step of ops) {
            if (step.op === "insert") {
              expect(index.insert(step.key)).toBe(!model.has(step.key));
              model.add(step.key);
            } else if (step.op === "delete") {
              expect(index.delete(step.key)).toBe(model.has(step.key));
              model.delete(step.key);
            } else {
              const sorted = [...model].sort(byCodeUnits);
              const expected = sorted
                .filter((k) => (step.inclusive ? k >= step.key : k > step.key))
                .slice(0, step.take);
              const seen: string[] = [];
              const ended = index.scan(step.key, step.inclusive, (k) => {
                if (seen.length === step.take) return false;
                seen.push(k);
                return true;
              });
              expect(seen).toEqual(expected);
              // It ran out exactly when fewer keys than asked for remained.
              const remaining = sorted.filter((k) =>
                step.inclusive ? k >= step.key : k > step.key,
              );
              expect(ended).toBe(remaining.length <= step.take && seen.length === remaining.length);
            }
            expect(index.size).toBe(model.size);
          }
          expect(index.toArray()).toEqual([...model].sort(byCodeUnits));
        },
      ),
      { seed: 20261127, numRuns: 300 },
    );
  });

  test("keys arriving in order fill chunks instead of leaving them half empty", () => {
    const index = new SortedKeys(4);
    for (let i = 0; i < 40; i++) index.insert(`k${String(i).padStart(3, "0")}`);
    expect(index.toArray()).toHaveLength(40);
    // 40 keys in full chunks of 4 are 10 chunks; halving splits would leave 19.
    expect(index.chunkCount).toBe(10);
  });

  test("removals merge small neighbours, so the chunk count follows the size", () => {
    const index = new SortedKeys(8);
    const keys = Array.from(
      { length: 800 },
      (_, i) => `k${String((i * 7919) % 800).padStart(4, "0")}`,
    );
    for (const k of keys) index.insert(k);
    // Remove 7 of every 8 keys: without merging, about as many chunks would remain.
    const before = index.chunkCount;
    for (const [i, k] of keys.entries()) if (i % 8 !== 0) index.delete(k);
    expect(index.size).toBe(100);
    expect(index.chunkCount).toBeLessThan(before / 2);
  });

  test("rejects a chunk size that cannot split", () => {
    expect(() => new SortedKeys(1)).toThrow(RangeError);
  });
});
