import { Status } from "../protocol/status.ts";
import type { StoreEvents, StoreUsage } from "./store.ts";

/**
 * The memory store's size estimate and its limit: what each entry counts,
 * and the running total that writes are checked against.
 */

/**
 * Bytes one entry costs beyond `key.length + value.length`: the Map's slot,
 * the sorted index's pointer, the string cells, the part of its message a
 * value's slice keeps alive besides the value (messages up to 4 KiB are not
 * copied), and the allocator's rounding. Measured with
 * `bun bench/memory-overhead.ts` (Bun 1.4.5, 12-character keys, with the
 * sorted index of KV_KEYS), growth per entry minus key and value text:
 *
 * | value bytes | keys/message | heap | RSS in-process | RSS of a node |
 * |---|---|---|---|---|
 * | 10   | 1  | 191 | 308  | 273 |
 * | 100  | 1  | 191 | 370  | 277 |
 * | 100  | 10 | 151 | 350  | 227 |
 * | 1000 | 1  | 191 | 552  | 480 |
 * | 2000 | 1  | 191 | 968  | 824 |
 * | 5000 | 1 (copied) | 114 | 1349 | 523 |
 *
 * The heap (JSC's own count: cells, Map slots, string buffers at their exact
 * size) adds about 190 bytes, 12 of them the sorted index (its pointer and
 * its chunks' spare room; 179 before it). RSS adds the allocator's size
 * classes too, which grow with the value, so no constant fits every size.
 * 320 covers small values with a margin (the estimate is 1.11-1.28x a node's
 * RSS there) and undershoots 1-2 KB values by 11-18%; docs/deploy.md sizes
 * the limit at 75% of the container's memory to leave room for that.
 * Lengths are UTF-16 code units: exact bytes for Latin-1 text, half for
 * strings holding other characters, which JSC stores two bytes each.
 */
export const ENTRY_OVERHEAD = 320;

/**
 * Bytes an expiry adds to its entry. An expiring key lives in a shard of
 * `expiry.ts` instead of the values Map: its record ({key, value, at}, about
 * 40 bytes) plus the shards' slots and spare capacity, in place of a values
 * Map slot. Measured with `bun bench/expiry.ts --mode=overhead` (Bun 1.4.5,
 * in-process, 1M keys of 100-character values, 100 per message, two runs):
 * a store whose keys all have a ttl grows by 88 more bytes of heap and 100
 * more of RSS per key than one whose keys have none. RSS, as for
 * {@link ENTRY_OVERHEAD}.
 */
export const EXPIRY_OVERHEAD = 100;

/** What a new entry counts. */
export const entryCost = (key: string, value: string, expiring: boolean): number =>
  key.length + value.length + ENTRY_OVERHEAD + (expiring ? EXPIRY_OVERHEAD : 0);

/** The shortest time between two `full` reports while writes are refused. */
export const FULL_REPORT_INTERVAL_MS = 60_000;

type Refused = typeof Status.Unknown;

/**
 * The running estimate against `limit` (0 = none). A write that would take
 * it over the limit is refused (status 100, as Redis answers OOM under
 * `maxmemory` with `noeviction`); one that does not grow the store never is.
 */
export class SizeBudget {
  readonly #limit: number;
  readonly #now: () => number;
  readonly #events: StoreEvents | undefined;
  #bytes = 0;
  #full = false;
  /** Keys refused since the last `full` report. */
  #refused = 0;
  #reportedAt = Number.NEGATIVE_INFINITY;

  constructor(limit: number, now: () => number, events: StoreEvents | undefined) {
    this.#limit = limit;
    this.#now = now;
    this.#events = events;
  }

  get bytes(): number {
    return this.#bytes;
  }

  usage(): StoreUsage {
    return { bytes: this.#bytes, limit: this.#limit, full: this.#full };
  }

  /** Whether a write that changes the size by `growth` may go ahead: one that does not grow always may. */
  fits(growth: number): boolean {
    return growth <= 0 || this.#limit === 0 || this.#bytes + growth <= this.#limit;
  }

  /** Any change of size, up or down, ends a full spell: room was made, or a write fit. */
  grow(growth: number): void {
    if (growth === 0) return;
    this.#bytes += growth;
    this.#full = false;
  }

  /** Counts a refused key (reporting it when the interval allows) and answers its status. */
  refuse(): Refused {
    this.#full = true;
    this.#refused++;
    const now = this.#now();
    if (this.#events !== undefined && now - this.#reportedAt >= FULL_REPORT_INTERVAL_MS) {
      this.#reportedAt = now;
      const refused = this.#refused;
      this.#refused = 0;
      this.#events.full({ bytes: this.#bytes, limit: this.#limit, refused });
    }
    return Status.Unknown;
  }
}
