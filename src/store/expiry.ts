/**
 * The memory store's expiring keys: each one's value and deadline, apart from
 * the keys that never expire, and the incremental walk that finds the ones
 * that expired.
 *
 * Apart, so that a store where no key expires keeps this empty and its
 * commands test one size, and so that reclaiming expired keys never deletes
 * from the big Map of the other keys. Deadlines are absolute times on the
 * store's monotonic clock (ms, fractional); a deadline <= now has come.
 *
 * Sharded into {@link SHARDS} Maps by a hash of the key: a JS Map rehashes
 * all its entries at once when it grows past, or shrinks below, a fraction
 * of its capacity, inside whichever `set` or `delete` crosses it (measured on
 * Bun 1.4.5, deleting every key: a single delete up to 13 ms in a Map of
 * 262,144 keys, 1.4 ms in one of 16,384, 0.15 ms in one of 4,096, and up to
 * 7 ms for 16,384 beside a million-key heap). A sweep reclaiming a million
 * keys crosses such thresholds in the middle of its steps: with 1,024 Maps
 * (about a thousand keys each at a million) its steps stay near their budget
 * (`bun bench/expiry.ts`: p99 2.5, max 4.4 ms against 6.8 and 8.7 with 64).
 *
 * The sweep walks the shards in turn with one iterator kept across steps: a
 * Map iterator survives inserts and deletes (new entries are visited later in
 * the same pass, deleted ones skipped), so a pass visits every key that had a
 * deadline when it began, and each step resumes where the last one stopped.
 */

const SHARD_BITS = 10;
export const SHARDS = 1 << SHARD_BITS;

/**
 * The shard of `key`: FNV-1a over every code unit, then a final mix so that
 * keys differing in one character land far apart. Over the whole key, not a
 * sample of it: with 1,024 shards, 8 sampled characters left most shards
 * empty for keys like `user:<n>:profile`, and a key is read whole to parse it
 * anyway.
 */
export function shardOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> (32 - SHARD_BITS);
}

/**
 * An expiring key's record; the store changes `value` in place on an update.
 * It holds its key so that the sweep walks `values()`: `entries()` allocates
 * a pair per entry and walks 1M entries several times slower.
 */
export interface Timed {
  readonly key: string;
  value: string;
  /** The deadline; change it through `Expiring.retime`, which tracks the earliest. */
  at: number;
}

/** Entries examined between two readings of the clock: a reading costs far less than 16 reclaims. */
export const CHECK_EVERY = 16;

export interface StepResult {
  /** Entries looked at. */
  readonly examined: number;
  /** Expired entries found and handed to `reclaim`. */
  readonly reclaimed: number;
  /** Time the step took, on the store's clock. */
  readonly elapsed: number;
  /** True when the step finished a pass over every expiring key. */
  readonly passDone: boolean;
}

export class Expiring {
  readonly #shards: Map<string, Timed>[] = Array.from({ length: SHARDS }, () => new Map());
  #size = 0;
  /** The sweep's place: the shard it walks and its iterator; undefined between passes. */
  #shard = 0;
  #pass: MapIterator<Timed> | undefined;
  /** The earliest deadline the current pass saw and left (not come yet). */
  #passEarliest = Number.POSITIVE_INFINITY;
  /** The earliest deadline set since the current pass began: the pass may not reach it. */
  #setEarliest = Number.POSITIVE_INFINITY;
  /** Lower bound of every deadline left after the last complete pass. */
  #earliest = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.#size;
  }

  /** The record of `key`, undefined when it is not an expiring key. */
  get(key: string): Timed | undefined {
    return (this.#shards[shardOf(key)] as Map<string, Timed>).get(key);
  }

  /** Adds `key`, which must not be here, with its value and deadline. */
  add(key: string, value: string, at: number): void {
    (this.#shards[shardOf(key)] as Map<string, Timed>).set(key, { key, value, at });
    this.#size++;
    this.#track(at);
  }

  /** Moves the deadline of a record of this set. */
  retime(timed: Timed, at: number): void {
    timed.at = at;
    this.#track(at);
  }

  /** Deletes `key`; true when it was here. */
  delete(key: string): boolean {
    if (!(this.#shards[shardOf(key)] as Map<string, Timed>).delete(key)) return false;
    this.#size--;
    return true;
  }

  clear(): void {
    for (const shard of this.#shards) shard.clear();
    this.#size = 0;
    this.#pass = undefined;
    this.#passEarliest = Number.POSITIVE_INFINITY;
    this.#setEarliest = Number.POSITIVE_INFINITY;
    this.#earliest = Number.POSITIVE_INFINITY;
  }

  /**
   * No deadline left is earlier than this (Infinity when none is known to
   * be): after a complete pass, the earliest deadline it left and any set
   * since; before one, the earliest deadline ever set.
   */
  get earliest(): number {
    return this.#earliest;
  }

  /**
   * One step of the sweep: walks on from where the last step stopped,
   * handing every expired key to `reclaim` (which must delete it from here),
   * until `budget` ms have passed on `clock` or the pass is done. The clock
   * is read every {@link CHECK_EVERY} entries, so a step overruns its budget
   * by at most that many entries' work (and a shard's rehash, if one of
   * them shrinks it past a threshold).
   */
  step(clock: () => number, budget: number, reclaim: (timed: Timed) => void): StepResult {
    const start = clock();
    let now = start;
    if (this.#pass === undefined) {
      this.#shard = 0;
      this.#pass = (this.#shards[0] as Map<string, Timed>).values();
      this.#passEarliest = Number.POSITIVE_INFINITY;
      this.#setEarliest = Number.POSITIVE_INFINITY;
    }
    let examined = 0;
    let reclaimed = 0;
    let earliest = this.#passEarliest;
    let untilCheck = CHECK_EVERY;
    for (;;) {
      let outOfTime = false;
      // for-of over a kept iterator: breaking out does not close a Map iterator
      // (it has no `return`), so the next step continues from here.
      for (const timed of this.#pass) {
        examined++;
        if (timed.at <= now) {
          reclaim(timed);
          reclaimed++;
        } else if (timed.at < earliest) {
          earliest = timed.at;
        }
        if (--untilCheck === 0) {
          untilCheck = CHECK_EVERY;
          now = clock();
          if (now - start >= budget) {
            outOfTime = true;
            break;
          }
        }
      }
      if (outOfTime) break;
      if (++this.#shard === SHARDS) {
        this.#pass = undefined;
        this.#earliest = Math.min(earliest, this.#setEarliest);
        now = clock();
        break;
      }
      this.#pass = (this.#shards[this.#shard] as Map<string, Timed>).values();
    }
    this.#passEarliest = earliest;
    return { examined, reclaimed, elapsed: now - start, passDone: this.#pass === undefined };
  }

  #track(at: number): void {
    if (at < this.#setEarliest) this.#setEarliest = at;
    if (at < this.#earliest) this.#earliest = at;
  }
}
