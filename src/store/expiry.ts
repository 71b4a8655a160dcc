/**
 * When the memory store's expiring keys expire, and the incremental walk
 * that finds the ones that did.
 *
 * Only keys that have an expiry are in here, so a store where none do keeps
 * an empty Map and its hot path tests one size. Deadlines are absolute times
 * on the store's monotonic clock (ms, fractional); a key whose deadline is
 * <= now has expired.
 *
 * The sweep walks the Map with one iterator kept across steps: a Map
 * iterator survives inserts and deletes (new entries are visited later in
 * the same pass, deleted ones skipped), so a pass visits every key that had
 * a deadline when it began, whatever happened in between, and each step
 * resumes where the previous one stopped without searching.
 */

/** Entries examined between two readings of the clock: a reading costs about as much as 10 entries. */
const CHECK_EVERY = 64;

export interface StepResult {
  /** Entries looked at. */
  readonly examined: number;
  /** Expired entries found and handed to `reclaim`. */
  readonly reclaimed: number;
  /** Time the step took, on the store's clock. */
  readonly elapsed: number;
  /** True when the step finished a pass over every deadline. */
  readonly passDone: boolean;
}

export class Deadlines {
  readonly #at = new Map<string, number>();
  /** The sweep's place in the current pass; undefined between passes. */
  #pass: MapIterator<[string, number]> | undefined;
  /** The earliest deadline the current pass saw and left (not expired yet). */
  #passEarliest = Number.POSITIVE_INFINITY;
  /** The earliest deadline set since the current pass began: the pass may not reach it. */
  #setEarliest = Number.POSITIVE_INFINITY;
  /** Lower bound of every deadline left after the last complete pass. */
  #earliest = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.#at.size;
  }

  /** The deadline of `key`, undefined when it never expires. */
  get(key: string): number | undefined {
    return this.#at.get(key);
  }

  /** Gives `key` the deadline `at`; true when it had none. */
  set(key: string, at: number): boolean {
    const map = this.#at;
    const size = map.size;
    map.set(key, at);
    if (at < this.#setEarliest) this.#setEarliest = at;
    if (at < this.#earliest) this.#earliest = at;
    return map.size !== size;
  }

  /** Drops the deadline of `key`; true when it had one. */
  delete(key: string): boolean {
    return this.#at.delete(key);
  }

  clear(): void {
    this.#at.clear();
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
   * by at most that many entries' work.
   */
  step(clock: () => number, budget: number, reclaim: (key: string) => void): StepResult {
    const start = clock();
    let now = start;
    if (this.#pass === undefined) {
      this.#pass = this.#at.entries();
      this.#passEarliest = Number.POSITIVE_INFINITY;
      this.#setEarliest = Number.POSITIVE_INFINITY;
    }
    let examined = 0;
    let reclaimed = 0;
    let earliest = this.#passEarliest;
    let untilCheck = CHECK_EVERY;
    let passDone = true;
    // for-of over a kept iterator: breaking out does not close a Map iterator
    // (it has no `return`), so the next step continues from here.
    for (const [key, at] of this.#pass) {
      examined++;
      if (at <= now) {
        reclaim(key);
        reclaimed++;
      } else if (at < earliest) {
        earliest = at;
      }
      if (--untilCheck === 0) {
        untilCheck = CHECK_EVERY;
        now = clock();
        if (now - start >= budget) {
          passDone = false;
          break;
        }
      }
    }
    this.#passEarliest = earliest;
    if (passDone) {
      this.#pass = undefined;
      this.#earliest = Math.min(earliest, this.#setEarliest);
      now = clock();
    }
    return { examined, reclaimed, elapsed: now - start, passDone };
  }
}
