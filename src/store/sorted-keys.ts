/**
 * The memory store's keys in sorted order, for KV_KEYS: a listing walks them
 * in order and its cursor is the last key it looked at, so the next page
 * starts at the first key after it, wherever inserts and removes have moved
 * things meanwhile. A key present throughout a listing is therefore reached
 * exactly once, and a prefix is one contiguous range starting at the first
 * key >= the prefix.
 *
 * The order is JS string comparison (`<`), by UTF-16 code units: keys may
 * hold lone surrogates and NUL, and code units order them all consistently.
 *
 * The keys live in a list of sorted chunks of at most `chunkSize` keys: a
 * binary search over the chunks' first keys, then one inside the chunk, and
 * an insert or removal moves at most one chunk's worth of pointers (a flat
 * sorted array would move half the store's on each). Only new keys and
 * removals touch it, never updates of a value.
 */

/** Keys per chunk before it splits in two: a splice of 1024 pointers is a few hundred ns. */
export const CHUNK_SIZE = 1024;

export class SortedKeys {
  #chunks: string[][] = [];
  #size = 0;
  readonly #chunkSize: number;
  /**
   * Where the last `#find` landed: chunk, and index in it. Fields rather
   * than a returned object, so that a removal (the sweep makes a million in
   * a row) allocates nothing for the GC to collect.
   */
  #chunk = 0;
  #at = 0;

  /** `chunkSize` is for tests, which use tiny chunks to exercise splits and merges. */
  constructor(chunkSize = CHUNK_SIZE) {
    if (!Number.isInteger(chunkSize) || chunkSize < 2)
      throw new RangeError("chunkSize must be >= 2");
    this.#chunkSize = chunkSize;
  }

  get size(): number {
    return this.#size;
  }

  /** How many chunks hold the keys (for tests of the split and merge rules). */
  get chunkCount(): number {
    return this.#chunks.length;
  }

  /** Adds `key`; false when it was already there. */
  insert(key: string): boolean {
    const chunks = this.#chunks;
    if (chunks.length === 0) {
      chunks.push([key]);
      this.#size = 1;
      return true;
    }
    this.#find(key, true);
    const chunk = this.#chunk;
    const at = this.#at;
    const keys = chunks[chunk] as string[];
    if (keys[at] === key) return false;
    keys.splice(at, 0, key);
    this.#size++;
    if (keys.length > this.#chunkSize) {
      // Keys that arrive in order (sequential ids) always land at the very
      // end: splitting off only the new key there leaves full chunks behind
      // instead of half-empty ones. Anywhere else, halves.
      const appended = chunk === chunks.length - 1 && at === keys.length - 1;
      chunks.splice(chunk + 1, 0, keys.splice(appended ? at : keys.length >> 1));
    }
    return true;
  }

  /** Removes `key`; false when it was not there. */
  delete(key: string): boolean {
    if (this.#chunks.length === 0) return false;
    this.#find(key, true);
    const chunk = this.#chunk;
    const at = this.#at;
    const chunks = this.#chunks;
    const keys = chunks[chunk] as string[];
    if (keys[at] !== key) return false;
    // As fast as splice(at, 1), without the array splice returns.
    keys.copyWithin(at, at + 1);
    keys.pop();
    this.#size--;
    if (keys.length === 0) {
      chunks.splice(chunk, 1);
    } else {
      // Merging a small chunk into its successor keeps the chunk count near
      // size / chunkSize however removals fall, so searches stay short.
      const next = chunks[chunk + 1];
      if (next !== undefined && keys.length + next.length <= this.#chunkSize >> 1) {
        keys.push(...next);
        chunks.splice(chunk + 1, 1);
      }
    }
    return true;
  }

  clear(): void {
    this.#chunks = [];
    this.#size = 0;
  }

  /**
   * Calls `visit` with each key from `start` on, in order: from the first key
   * >= `start` when `inclusive`, else the first key > `start`, until `visit`
   * answers false or the keys run out. `visit` must not change the index.
   * Answers true when the keys ran out.
   */
  scan(start: string, inclusive: boolean, visit: (key: string) => boolean): boolean {
    const chunks = this.#chunks;
    if (chunks.length === 0) return true;
    this.#find(start, inclusive);
    let chunk = this.#chunk;
    let at = this.#at;
    for (; chunk < chunks.length; chunk++, at = 0) {
      const keys = chunks[chunk] as string[];
      for (; at < keys.length; at++) {
        if (!visit(keys[at] as string)) return false;
      }
    }
    return true;
  }

  /** Every key in order (for tests). */
  toArray(): string[] {
    return this.#chunks.flat();
  }

  /**
   * Sets `#chunk` and `#at` to the position of the first key >= `key`
   * (`inclusive`) or > `key`, which is where `key` is or would be inserted
   * when `inclusive`. It may be one past the end of a chunk (the next chunk
   * starts after it, or there is none).
   */
  #find(key: string, inclusive: boolean): void {
    const chunks = this.#chunks;
    // The last chunk whose first key is <= key (chunk 0 when none is).
    let low = 0;
    let high = chunks.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (((chunks[mid] as string[])[0] as string) <= key) low = mid;
      else high = mid - 1;
    }
    const keys = chunks[low] as string[];
    let from = 0;
    let to = keys.length;
    while (from < to) {
      const mid = (from + to) >> 1;
      const probe = keys[mid] as string;
      if (probe < key || (!inclusive && probe === key)) from = mid + 1;
      else to = mid;
    }
    this.#chunk = low;
    this.#at = from;
  }
}
