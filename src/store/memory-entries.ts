import { Deadlines } from "./expiry.ts";
import { EXPIRY_OVERHEAD, entryCost, type SizeBudget } from "./memory-size.ts";
import { SortedKeys } from "./sorted-keys.ts";

/**
 * What the memory store holds, kept consistent: the values, the sorted index
 * of their keys, the deadlines of the keys that expire, and the size
 * estimate they add up to. Every key of `index` and of `deadlines` is a key
 * of `values`, and `size` counts {@link entryCost} per entry. Keys come and
 * go through `insert` and `drop`; the store's hot paths change a value or a
 * deadline of an existing key directly, with the matching `size.grow`.
 */
export class Entries {
  readonly values = new Map<string, string>();
  readonly index: SortedKeys;
  readonly deadlines = new Deadlines();
  readonly size: SizeBudget;

  constructor(size: SizeBudget, indexChunkSize?: number) {
    this.size = size;
    this.index = new SortedKeys(indexChunkSize);
  }

  /** Whether `key` has a deadline that has come (`now` matters only when some key has one). */
  expired(key: string, now: number): boolean {
    const deadlines = this.deadlines;
    if (deadlines.size === 0) return false;
    const due = deadlines.get(key);
    return due !== undefined && due <= now;
  }

  /**
   * The value of `key` unless it has none or it expired: an expired key is
   * reclaimed on the way, so no command ever reads it.
   */
  live(key: string, now: number): string | undefined {
    const value = this.values.get(key);
    if (value !== undefined && this.expired(key, now)) {
      this.drop(key, value);
      return undefined;
    }
    return value;
  }

  /** Adds `key`, which has no entry, with deadline `at` (none when undefined); the caller checked the size. */
  insert(key: string, value: string, at: number | undefined): void {
    this.values.set(key, value);
    this.index.insert(key);
    if (at !== undefined) this.deadlines.set(key, at);
    this.size.grow(entryCost(key, value, at !== undefined));
  }

  /** Deletes `key`, whose value is `value`, everywhere, and gives its bytes back. */
  drop(key: string, value: string): void {
    this.values.delete(key);
    this.index.delete(key);
    const expiring = this.deadlines.size !== 0 && this.deadlines.delete(key);
    this.size.grow(-entryCost(key, value, expiring));
  }

  /** Drops `key` (which exists) for the sweep, which found it expired. */
  reclaim(key: string): void {
    this.drop(key, this.values.get(key) as string);
  }

  /** Gives `key` (which exists) the deadline `at`, counting the bookkeeping if it had none. */
  setDeadline(key: string, at: number): void {
    if (this.deadlines.set(key, at)) this.size.grow(EXPIRY_OVERHEAD);
  }

  /** Drops any deadline of `key` (which exists); the key never expires now. */
  dropDeadline(key: string): void {
    if (this.deadlines.size !== 0 && this.deadlines.delete(key)) this.size.grow(-EXPIRY_OVERHEAD);
  }

  /** Deletes everything; answers how many entries there were. */
  clear(): number {
    const n = this.values.size;
    this.values.clear();
    this.index.clear();
    this.deadlines.clear();
    this.size.grow(-this.size.bytes);
    return n;
  }
}
