import { appendJson } from "../json/append.ts";
import { Status } from "../protocol/status.ts";
import { ChangeFeed } from "./change-feed.ts";
import type { StepResult } from "./expiry.ts";
import { listPage } from "./listing.ts";
import { Entries, storedValue } from "./memory-entries.ts";
import { ENTRY_OVERHEAD, EXPIRY_OVERHEAD, entryCost, SizeBudget } from "./memory-size.ts";
import type {
  AddStatus,
  AppendStatus,
  ChangeListener,
  ContainsStatus,
  ExpireStatus,
  GetResult,
  KeysPage,
  KeysQuery,
  PersistStatus,
  RemoveStatus,
  SetStatus,
  Store,
  StoreEvents,
  StoreUsage,
  TtlResult,
} from "./store.ts";
import { Sweeper, type SweepOptions } from "./sweep.ts";

export {
  ENTRY_OVERHEAD,
  EXPIRY_OVERHEAD,
  FULL_REPORT_INTERVAL_MS,
} from "./memory-size.ts";

export interface MemoryStoreOptions {
  /** Largest estimated size in bytes (see {@link ENTRY_OVERHEAD}); 0 = unlimited. @default 0 */
  maxMemory?: number;
  /**
   * Milliseconds on a monotonic clock, for expiry deadlines, the sweep's
   * budget and the report interval; injectable for tests.
   */
  now?: () => number;
  /** How the active sweep of expired keys is paced (see `sweep.ts`). */
  sweep?: SweepOptions;
  /** Keys per chunk of the sorted index; for tests (see `sorted-keys.ts`). */
  indexChunkSize?: number;
}

/**
 * The embedded store: one process, one Map, answers synchronously.
 *
 * It keeps a running estimate of its size (`memory-size.ts`): key length +
 * value length + {@link ENTRY_OVERHEAD} per entry, + {@link EXPIRY_OVERHEAD}
 * for an entry with an expiry. With a limit, a write that would take the
 * estimate over it is refused for that key (status 100, as Redis answers OOM
 * under `maxmemory` with `noeviction`) and nothing is stored for it; writes
 * that do not grow the store, reads, removes, clear, and expire and persist
 * (Redis refuses neither at OOM) always work.
 *
 * Expiry is lazy, every command sees an expired key as missing and reclaims
 * it, and active: the sweep (`sweep.ts` over `expiry.ts`) reclaims the ones
 * nobody touches. Deadlines live apart from the values, so while no key
 * expires a command pays one size test. KV_KEYS reads a sorted index of the
 * keys (`sorted-keys.ts`, `listing.ts`) that only new keys and removals touch.
 */
export class MemoryStore implements Store {
  readonly description = "memory";
  readonly #entries: Entries;
  readonly #size: SizeBudget;
  readonly #sweeper: Sweeper;
  readonly #now: () => number;
  readonly #feed = new ChangeFeed();

  constructor(options: MemoryStoreOptions = {}, events?: StoreEvents) {
    const now = options.now ?? (() => performance.now());
    this.#now = now;
    this.#size = new SizeBudget(options.maxMemory ?? 0, now, events);
    const entries = new Entries(this.#size, options.indexChunkSize);
    this.#entries = entries;
    const feed = this.#feed;
    entries.onExpired = (key) => {
      if (feed.active) feed.emit({ op: "expire", key });
    };
    this.#sweeper = new Sweeper(
      entries.expiring,
      now,
      (timed) => entries.reclaim(timed.key, timed),
      options.sweep,
    );
    // Up for as long as the process lives: the one report a store that can't go down
    // makes, after construction, as every store reports (the start line comes first).
    if (events !== undefined) queueMicrotask(() => events.up());
  }

  set(keys: readonly string[], values: readonly string[], ttl?: number): SetStatus[] {
    const entries = this.#entries;
    const size = this.#size;
    const now = this.#clockFor(ttl);
    const at = ttl === undefined ? undefined : now + ttl;
    const feed = this.#watched();
    const out: SetStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const value = values[i] as string;
      const found = entries.find(key, now);
      if (found === undefined) {
        if (!size.fits(entryCost(key, value, at !== undefined))) {
          out[i] = size.refuse();
          continue;
        }
        entries.insert(key, value, at);
        feed?.emit({ op: "set", key, value });
        out[i] = Status.KeySet;
        continue;
      }
      // Without a ttl, a set makes the key persistent.
      const next = at ?? null;
      if (!size.fits(entries.updateGrowth(found, value, next))) {
        out[i] = size.refuse();
        continue;
      }
      entries.update(key, found, value, next);
      feed?.emit({ op: "set", key, value });
      out[i] = Status.KeyUpdated;
    }
    if (at !== undefined) this.#sweeper.wake();
    return out;
  }

  add(keys: readonly string[], values: readonly string[], ttl?: number): AddStatus[] {
    const entries = this.#entries;
    const size = this.#size;
    const now = this.#clockFor(ttl);
    const at = ttl === undefined ? undefined : now + ttl;
    const feed = this.#watched();
    const out: AddStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (entries.find(key, now) !== undefined) {
        out[i] = Status.KeyExists;
        continue;
      }
      const value = values[i] as string;
      if (!size.fits(entryCost(key, value, at !== undefined))) {
        out[i] = size.refuse();
        continue;
      }
      entries.insert(key, value, at);
      feed?.emit({ op: "set", key, value });
      out[i] = Status.KeySet;
    }
    if (at !== undefined) this.#sweeper.wake();
    return out;
  }

  get(keys: readonly string[]): GetResult[] {
    const entries = this.#entries;
    const now = this.#clockFor(undefined);
    const out: GetResult[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const found = entries.find(keys[i] as string, now);
      out[i] = found === undefined ? Status.KeyNotExist : storedValue(found);
    }
    return out;
  }

  remove(keys: readonly string[]): RemoveStatus[] {
    const entries = this.#entries;
    const now = this.#clockFor(undefined);
    const feed = this.#watched();
    const out: RemoveStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const found = entries.find(key, now);
      if (found === undefined) {
        out[i] = Status.KeyNotExist;
      } else {
        entries.drop(key, found);
        feed?.emit({ op: "rmv", key });
        out[i] = Status.KeyRemoved;
      }
    }
    return out;
  }

  contains(keys: readonly string[]): ContainsStatus[] {
    const entries = this.#entries;
    const now = this.#clockFor(undefined);
    const out: ContainsStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      out[i] =
        entries.find(keys[i] as string, now) === undefined ? Status.KeyNotExist : Status.KeyExists;
    }
    return out;
  }

  append(keys: readonly string[], values: readonly string[]): AppendStatus[] {
    const entries = this.#entries;
    const size = this.#size;
    const now = this.#clockFor(undefined);
    const feed = this.#watched();
    const out: AppendStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const found = entries.find(key, now);
      if (found === undefined) {
        out[i] = Status.KeyNotExist;
        continue;
      }
      const stored = storedValue(found);
      const combined = appendJson(stored, values[i] as string);
      if (combined === null) {
        out[i] = Status.ValueTypeInvalid;
        continue;
      }
      if (!size.fits(combined.length - stored.length)) {
        out[i] = size.refuse();
        continue;
      }
      // undefined: an append keeps the key's expiry.
      entries.update(key, found, combined, undefined);
      // Appending [] or members the object already has changes nothing: no event.
      if (combined !== stored) feed?.emit({ op: "append", key, value: combined });
      out[i] = Status.Ok;
    }
    return out;
  }

  expire(keys: readonly string[], ms: readonly number[]): ExpireStatus[] {
    const entries = this.#entries;
    const now = this.#now();
    const out: ExpireStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const found = entries.find(key, now);
      if (found === undefined) {
        out[i] = Status.KeyNotExist;
        continue;
      }
      // Not checked against the limit, as Redis does not refuse EXPIRE at OOM:
      // the estimate may pass it by the bookkeeping of the keys given an expiry.
      entries.update(key, found, storedValue(found), now + (ms[i] as number));
      out[i] = Status.Ok;
    }
    if (entries.expiring.size !== 0) this.#sweeper.wake();
    return out;
  }

  persist(keys: readonly string[]): PersistStatus[] {
    const entries = this.#entries;
    const now = this.#clockFor(undefined);
    const out: PersistStatus[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const found = entries.find(key, now);
      if (found === undefined) {
        out[i] = Status.KeyNotExist;
        continue;
      }
      if (typeof found !== "string") entries.update(key, found, found.value, null);
      out[i] = Status.Ok;
    }
    return out;
  }

  ttl(keys: readonly string[]): TtlResult[] {
    const entries = this.#entries;
    const now = this.#clockFor(undefined);
    const out: TtlResult[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const found = entries.find(keys[i] as string, now);
      if (found === undefined) out[i] = Status.KeyNotExist;
      // Rounded up: a key that has not expired never reports 0 ms left.
      else out[i] = { ms: typeof found === "string" ? null : Math.ceil(found.at - now) };
    }
    return out;
  }

  keys(query: KeysQuery): KeysPage | null {
    const entries = this.#entries;
    let expired: ((key: string) => boolean) | undefined;
    if (entries.expiring.size !== 0) {
      const now = this.#now();
      expired = (key) => entries.expired(key, now);
    }
    const listed = listPage(entries.index, query, expired);
    if (listed === null) return null;
    // Reclaimed after the walk, which must not change the index under it.
    for (const key of listed.expired) {
      const timed = entries.expiring.get(key);
      if (timed !== undefined) entries.reclaim(key, timed);
    }
    return listed.page;
  }

  count(): number {
    return this.#entries.count;
  }

  clear(): number {
    const n = this.#entries.clear();
    this.#watched()?.emit({ op: "clear" });
    return n;
  }

  watch(listener: ChangeListener): Promise<() => Promise<void>> {
    return this.#feed.watch(listener);
  }

  /** The feed while someone watches: with nobody watching, no change is even built. */
  #watched(): ChangeFeed | undefined {
    return this.#feed.active ? this.#feed : undefined;
  }

  usage(): StoreUsage {
    return this.#size.usage();
  }

  /**
   * Runs one step of the active sweep now (which schedules the next as
   * usual): for tests with a fake clock and scheduler, and benchmarks.
   */
  sweep(): StepResult {
    return this.#sweeper.run();
  }

  ready(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    this.#sweeper.close();
    return Promise.resolve();
  }

  /** The time a command needs: only when it sets a ttl or some key has a deadline (else 0, unused). */
  #clockFor(ttl: number | undefined): number {
    return ttl !== undefined || this.#entries.expiring.size !== 0 ? this.#now() : 0;
  }
}
