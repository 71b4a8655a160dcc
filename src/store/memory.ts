import { appendJson } from "../json/append.ts";
import { Status } from "../protocol/status.ts";
import type {
  AddStatus,
  AppendStatus,
  ContainsStatus,
  GetResult,
  RemoveStatus,
  SetStatus,
  Store,
  StoreEvents,
  StoreUsage,
} from "./store.ts";

/**
 * Bytes one entry costs beyond `key.length + value.length`: the Map's slot,
 * the string cells, the part of its message a value's slice keeps alive
 * besides the value (messages up to 4 KiB are not copied), and the
 * allocator's rounding. Measured with `bun bench/memory-overhead.ts` (Bun
 * 1.4.5, 12-character keys), growth per entry minus key and value text:
 *
 * | value bytes | keys/message | heap | RSS in-process | RSS of a node |
 * |---|---|---|---|---|
 * | 10   | 1  | 179 | 289  | 252 |
 * | 100  | 1  | 179 | 365  | 259 |
 * | 100  | 10 | 139 | 333  | 214 |
 * | 1000 | 1  | 179 | 551  | 459 |
 * | 2000 | 1  | 179 | 1207 | 811 |
 * | 5000 | 1 (copied) | 102 | 1339 | 660 |
 *
 * The heap (JSC's own count: cells, Map slots, string buffers at their exact
 * size) adds about 180 bytes. RSS adds the allocator's size classes too,
 * which grow with the value, so no constant fits every size. 320 covers
 * small values with a margin (the estimate is 1.15-1.35x a node's RSS there)
 * and undershoots 1-2 KB values by 9-17%; docs/deploy.md sizes the limit at
 * 75% of the container's memory to leave room for that.
 * Lengths are UTF-16 code units: exact bytes for Latin-1 text, half for
 * strings holding other characters, which JSC stores two bytes each.
 */
export const ENTRY_OVERHEAD = 320;

/** The shortest time between two `full` reports while writes are refused. */
export const FULL_REPORT_INTERVAL_MS = 60_000;

export interface MemoryStoreOptions {
  /** Largest estimated size in bytes (see {@link ENTRY_OVERHEAD}); 0 = unlimited. @default 0 */
  maxMemory?: number;
  /** Milliseconds on a monotonic clock, for the report interval; injectable for tests. */
  now?: () => number;
}

type Refused = typeof Status.Unknown;

/**
 * The embedded store: one process, one Map, answers synchronously.
 *
 * It keeps a running estimate of its size, key length + value length +
 * {@link ENTRY_OVERHEAD} per entry. With a limit, a write that would take the
 * estimate over it is refused for that key (status 100, as Redis answers OOM
 * under `maxmemory` with `noeviction`) and nothing is stored for it; writes
 * that do not grow the store, reads, removes and clear always work.
 */
export class MemoryStore implements Store {
  readonly description = "memory";
  #data = new Map<string, string>();
  readonly #limit: number;
  readonly #events: StoreEvents | undefined;
  readonly #now: () => number;
  #bytes = 0;
  #full = false;
  /** Keys refused since the last `full` report. */
  #refused = 0;
  #reportedAt = Number.NEGATIVE_INFINITY;

  constructor(options: MemoryStoreOptions = {}, events?: StoreEvents) {
    this.#limit = options.maxMemory ?? 0;
    this.#now = options.now ?? (() => performance.now());
    this.#events = events;
    // Up for as long as the process lives: the one report a store that can't go down
    // makes, after construction, as every store reports (the start line comes first).
    if (events !== undefined) queueMicrotask(() => events.up());
  }

  set(keys: readonly string[], values: readonly string[]): SetStatus[] {
    const data = this.#data;
    const out: SetStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const value = values[i] as string;
      const old = data.get(key);
      const growth =
        old === undefined ? key.length + value.length + ENTRY_OVERHEAD : value.length - old.length;
      if (!this.#fits(growth)) {
        out[i] = this.#refuse();
        continue;
      }
      data.set(key, value);
      this.#grow(growth);
      out[i] = old === undefined ? Status.KeySet : Status.KeyUpdated;
    }
    return out;
  }

  add(keys: readonly string[], values: readonly string[]): AddStatus[] {
    const data = this.#data;
    const out: AddStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (data.has(key)) {
        out[i] = Status.KeyExists;
        continue;
      }
      const value = values[i] as string;
      const growth = key.length + value.length + ENTRY_OVERHEAD;
      if (!this.#fits(growth)) {
        out[i] = this.#refuse();
        continue;
      }
      data.set(key, value);
      this.#grow(growth);
      out[i] = Status.KeySet;
    }
    return out;
  }

  get(keys: readonly string[]): GetResult[] {
    const data = this.#data;
    const out: GetResult[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      out[i] = data.get(keys[i] as string) ?? Status.KeyNotExist;
    }
    return out;
  }

  remove(keys: readonly string[]): RemoveStatus[] {
    const data = this.#data;
    const out: RemoveStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const old = data.get(key);
      if (old === undefined) {
        out[i] = Status.KeyNotExist;
      } else {
        data.delete(key);
        this.#grow(-(key.length + old.length + ENTRY_OVERHEAD));
        out[i] = Status.KeyRemoved;
      }
    }
    return out;
  }

  contains(keys: readonly string[]): ContainsStatus[] {
    const data = this.#data;
    const out: ContainsStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      out[i] = data.has(keys[i] as string) ? Status.KeyExists : Status.KeyNotExist;
    }
    return out;
  }

  append(keys: readonly string[], values: readonly string[]): AppendStatus[] {
    const data = this.#data;
    const out: AppendStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const stored = data.get(key);
      if (stored === undefined) {
        out[i] = Status.KeyNotExist;
        continue;
      }
      const combined = appendJson(stored, values[i] as string);
      if (combined === null) {
        out[i] = Status.ValueTypeInvalid;
        continue;
      }
      const growth = combined.length - stored.length;
      if (!this.#fits(growth)) {
        out[i] = this.#refuse();
        continue;
      }
      data.set(key, combined);
      this.#grow(growth);
      out[i] = Status.Ok;
    }
    return out;
  }

  count(): number {
    return this.#data.size;
  }

  clear(): number {
    const n = this.#data.size;
    this.#data.clear();
    this.#grow(-this.#bytes);
    return n;
  }

  usage(): StoreUsage {
    return { bytes: this.#bytes, limit: this.#limit, full: this.#full };
  }

  ready(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Whether a write that changes the size by `growth` may go ahead: one that does not grow always may. */
  #fits(growth: number): boolean {
    return growth <= 0 || this.#limit === 0 || this.#bytes + growth <= this.#limit;
  }

  /** Any change of size, up or down, ends a full spell: room was made, or a write fit. */
  #grow(growth: number): void {
    if (growth === 0) return;
    this.#bytes += growth;
    this.#full = false;
  }

  #refuse(): Refused {
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
