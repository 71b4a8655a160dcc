import { Expiring, type Timed } from "./expiry.ts";
import { EXPIRY_OVERHEAD, entryCost, type SizeBudget } from "./memory-size.ts";
import { SortedKeys } from "./sorted-keys.ts";

/**
 * What a lookup finds: the value of a key that never expires, the record of
 * an expiring key that has not expired, or nothing. Telling them apart is a
 * `typeof`, so finding a key allocates nothing.
 */
export type Found = string | Timed | undefined;

/** The value a lookup found. */
export const storedValue = (found: string | Timed): string =>
  typeof found === "string" ? found : found.value;

/**
 * The expiry an update leaves: a deadline, null for none, undefined to keep
 * the key's own (an append).
 */
export type NextExpiry = number | null | undefined;

/**
 * What the memory store holds, kept consistent: keys that never expire in
 * one Map (`values`), expiring keys with their deadlines in `expiring`, each
 * key in exactly one of them; every key in the sorted `index`; and the size
 * estimate, {@link entryCost} per entry. A key moves between the two when it
 * gains or loses an expiry; its index entry stays.
 */
export class Entries {
  readonly values = new Map<string, string>();
  readonly expiring = new Expiring();
  readonly index: SortedKeys;
  readonly size: SizeBudget;
  /** Told of every key reclaimed because its deadline came (the store's `expire` events). */
  onExpired: ((key: string) => void) | undefined;

  constructor(size: SizeBudget, indexChunkSize?: number) {
    this.size = size;
    this.index = new SortedKeys(indexChunkSize);
  }

  get count(): number {
    return this.values.size + this.expiring.size;
  }

  /**
   * The entry of `key` unless it has none or it expired: an expired key is
   * reclaimed on the way, so no command ever reads it. While no key expires
   * this is one Map lookup and one size test (and `now` is not used).
   */
  find(key: string, now: number): Found {
    const value = this.values.get(key);
    if (value !== undefined || this.expiring.size === 0) return value;
    const timed = this.expiring.get(key);
    if (timed === undefined || timed.at > now) return timed;
    this.reclaim(key, timed);
    return undefined;
  }

  /** Drops an expiring key whose deadline came. */
  reclaim(key: string, timed: Timed): void {
    this.drop(key, timed);
    this.onExpired?.(key);
  }

  /** Whether `key` is an expiring key whose deadline has come. */
  expired(key: string, now: number): boolean {
    if (this.expiring.size === 0) return false;
    const timed = this.expiring.get(key);
    return timed !== undefined && timed.at <= now;
  }

  /** Adds `key`, which has no entry, expiring at `at` (never when undefined); the caller checked the size. */
  insert(key: string, value: string, at: number | undefined): void {
    if (at === undefined) this.values.set(key, value);
    else this.expiring.add(key, value, at);
    this.index.insert(key);
    this.size.grow(entryCost(key, value, at !== undefined));
  }

  /** How much `update(key, found, value, next)` changes the size estimate. */
  updateGrowth(found: string | Timed, value: string, next: NextExpiry): number {
    const timed = typeof found !== "string";
    const expiring = next === undefined ? timed : next !== null;
    const bookkeeping = expiring === timed ? 0 : expiring ? EXPIRY_OVERHEAD : -EXPIRY_OVERHEAD;
    return value.length - storedValue(found).length + bookkeeping;
  }

  /** Replaces the value of `key`, which `found` is the entry of, and sets its expiry as `next` says. */
  update(key: string, found: string | Timed, value: string, next: NextExpiry): void {
    this.size.grow(this.updateGrowth(found, value, next));
    if (typeof found === "string") {
      if (typeof next !== "number") {
        this.values.set(key, value);
        return;
      }
      this.values.delete(key);
      this.expiring.add(key, value, next);
    } else if (next === null) {
      this.expiring.delete(key);
      this.values.set(key, value);
    } else {
      found.value = value;
      if (next !== undefined) this.expiring.retime(found, next);
    }
  }

  /** Deletes `key`, which `found` is the entry of, everywhere, and gives its bytes back. */
  drop(key: string, found: string | Timed): void {
    if (typeof found === "string") this.values.delete(key);
    else this.expiring.delete(key);
    this.index.delete(key);
    this.size.grow(-entryCost(key, storedValue(found), typeof found !== "string"));
  }

  /** Deletes everything; answers how many entries there were. */
  clear(): number {
    const n = this.count;
    this.values.clear();
    this.expiring.clear();
    this.index.clear();
    this.size.grow(-this.size.bytes);
    return n;
  }
}
