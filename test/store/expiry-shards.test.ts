import { describe, expect, test } from "bun:test";
import { SHARDS, shardOf } from "../../src/store/expiry.ts";

/**
 * The expiring keys' shards stay small only if keys spread over them: a
 * shard holding many times its share would rehash as slowly as one big Map
 * in the middle of a sweep step.
 */
describe("expiring keys' shards", () => {
  const spread = (keys: string[]) => {
    const counts = new Array<number>(SHARDS).fill(0);
    for (const key of keys) counts[shardOf(key)] = (counts[shardOf(key)] ?? 0) + 1;
    const mean = keys.length / SHARDS;
    return { min: Math.min(...counts) / mean, max: Math.max(...counts) / mean };
  };
  const many = 100 * SHARDS;

  test.each([
    ["sequential ids", (n: number) => `exp:${String(n).padStart(8, "0")}`],
    ["ids at the start", (n: number) => `${n}:session`],
    ["ids in the middle", (n: number) => `user:${n}:profile`],
    ["long keys", (n: number) => `${"k".repeat(200)}${n}${"v".repeat(200)}`],
  ])("%s land within a factor of 1.5 of an even share", (_, keyOf) => {
    const { min, max } = spread(Array.from({ length: many }, (_, n) => keyOf(n)));
    expect(min).toBeGreaterThan(0.5);
    expect(max).toBeLessThan(1.5);
  });

  test("a key's shard is in range and the same every time", () => {
    for (const key of ["", "a", "é", "\u{1F600}", "x".repeat(10_000)]) {
      const shard = shardOf(key);
      expect(shard).toBeGreaterThanOrEqual(0);
      expect(shard).toBeLessThan(SHARDS);
      expect(shardOf(key)).toBe(shard);
    }
  });
});
