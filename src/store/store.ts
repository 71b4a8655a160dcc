import type { Change } from "../protocol/events.ts";
import type { Status } from "../protocol/status.ts";

/** A result now (the memory store) or later (a network store). */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Values are JSON text, compact (no whitespace outside strings), validated
 * before they reach a store. Every batch method takes a whole command's keys
 * at once and answers one result per key, in the same order, so that a
 * network store can send the batch in one round trip. A key the store could
 * not process gets `Status.Unknown`; a whole batch that fails may reject.
 */
export interface Store {
  /** Human-readable kind for the start line and logs, e.g. `memory`. */
  readonly description: string;
  /**
   * Stores each value: 20 KeySet when the key was new (or had expired), 21
   * KeyUpdated when it existed. With `ttl` (ms, 1 to {@link MAX_TTL}) each key
   * expires that long after the write; without, any earlier expiry is dropped.
   */
  set(keys: readonly string[], values: readonly string[], ttl?: number): MaybePromise<SetStatus[]>;
  /**
   * Stores each value only where the key is new (or had expired): 20 KeySet,
   * else 23 KeyExists. `ttl` applies only to the keys it adds.
   */
  add(keys: readonly string[], values: readonly string[], ttl?: number): MaybePromise<AddStatus[]>;
  /** The stored JSON text of each key, or 22 KeyNotExist when it has none. */
  get(keys: readonly string[]): MaybePromise<GetResult[]>;
  /** Deletes each key: 24 KeyRemoved, or 22 KeyNotExist when it had none. */
  remove(keys: readonly string[]): MaybePromise<RemoveStatus[]>;
  /** 23 KeyExists or 22 KeyNotExist for each key. */
  contains(keys: readonly string[]): MaybePromise<ContainsStatus[]>;
  /**
   * Appends each value to the stored one, atomically per key (see `json/append.ts`):
   * 1 Ok, 22 KeyNotExist, or 41 ValueTypeInvalid leaving the stored value untouched.
   * The key keeps its expiry.
   */
  append(keys: readonly string[], values: readonly string[]): MaybePromise<AppendStatus[]>;
  /** Makes each key expire `ms[i]` ms from now (1 to {@link MAX_TTL}): 1 Ok, or 22 KeyNotExist. */
  expire(keys: readonly string[], ms: readonly number[]): MaybePromise<ExpireStatus[]>;
  /** Drops each key's expiry, whether or not it had one: 1 Ok, or 22 KeyNotExist. */
  persist(keys: readonly string[]): MaybePromise<PersistStatus[]>;
  /** The time left before each key expires, `{ ms: null }` when it never does, or 22. */
  ttl(keys: readonly string[]): MaybePromise<TtlResult[]>;
  /**
   * One page of the keys that start with `prefix`, at most `limit` of them
   * (see {@link KeysQuery}); null when `cursor` is not one this kind of store
   * made. Every call does a bounded amount of work, however big the store.
   */
  keys(query: KeysQuery): MaybePromise<KeysPage | null>;
  /** The number of keys in the whole store; expired keys not yet reclaimed may count. */
  count(): MaybePromise<number>;
  /** Deletes every key in the whole store and answers how many there were. */
  clear(): MaybePromise<number>;
  /**
   * Delivers every change the store applies from now on, made through any
   * node sharing it, to `listener`: per key in the order the store applied
   * them. Resolves once the feed is live (every change applied after that is
   * delivered, or a `reset` says some may have been missed), to a function
   * that ends the feed.
   */
  watch(listener: ChangeListener): Promise<() => Promise<void>>;
  /** Resolves true when the store answers now; never rejects. */
  ready(): Promise<boolean>;
  /**
   * What `/readyz` adds below its first line: how to turn on what the store
   * keeps from working (on Redis, expire events without `notify-keyspace-events`).
   */
  notes?(): string[];
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
  /** What a store that keeps its own data holds, for the metrics (the memory store). */
  usage?(): StoreUsage;
}

export { MAX_TTL } from "../protocol/numbers.ts";

/** What KV_KEYS asks for. */
export interface KeysQuery {
  /** Only keys that start with it; "" for every key. */
  readonly prefix: string;
  /** The most keys one page may hold, 1 to 1000. */
  readonly limit: number;
  /** The `cursor` of the previous page; absent on the first call. */
  readonly cursor?: string;
}

/**
 * One page of a listing. A key that exists, unexpired, from the first call
 * to the last is in at least one page; a key may be in several; keys added
 * or removed meanwhile may or may not be. The cursor is opaque text that
 * works on any node of the same store (see `cursor.ts`); null on the last page.
 */
export interface KeysPage {
  readonly keys: string[];
  readonly cursor: string | null;
}

/** `ms` left before the key expires (0 or more), or null when it never does. */
export interface Remaining {
  readonly ms: number | null;
}

/** The memory store's estimate of what it holds, against its limit. */
export interface StoreUsage {
  /** Estimated bytes held: key and value lengths plus a fixed overhead per entry. */
  readonly bytes: number;
  /** The limit on `bytes`; 0 = unlimited. */
  readonly limit: number;
  /**
   * True while the most recent write that would have grown the store was
   * refused and nothing since has made room or grown the store.
   */
  readonly full: boolean;
}

type Failed = typeof Status.Unknown;
export type SetStatus = typeof Status.KeySet | typeof Status.KeyUpdated | Failed;
export type AddStatus = typeof Status.KeySet | typeof Status.KeyExists | Failed;
export type GetResult = string | typeof Status.KeyNotExist | Failed;
export type RemoveStatus = typeof Status.KeyRemoved | typeof Status.KeyNotExist | Failed;
export type ContainsStatus = typeof Status.KeyExists | typeof Status.KeyNotExist | Failed;
export type AppendStatus =
  | typeof Status.Ok
  | typeof Status.KeyNotExist
  | typeof Status.ValueTypeInvalid
  | Failed;
export type ExpireStatus = typeof Status.Ok | typeof Status.KeyNotExist | Failed;
export type PersistStatus = typeof Status.Ok | typeof Status.KeyNotExist | Failed;
export type TtlResult = Remaining | typeof Status.KeyNotExist | Failed;

export type { Change } from "../protocol/events.ts";

export interface ChangeListener {
  change(change: Change): void;
  /** The feed was interrupted, so changes may have been missed; called once it flows again. */
  reset(): void;
}

/**
 * Store connection changes, for logs and metrics, reported after the store's construction,
 * never during it; a store that can't go down reports `up` once.
 */
export interface StoreEvents {
  up(): void;
  down(reason: string): void;
  /**
   * Writes are being refused because the store is at its memory limit: on
   * the first refusal, then at most once a minute while refusals go on.
   * `refused` counts the keys refused since the previous report.
   */
  full(report: { bytes: number; limit: number; refused: number }): void;
}
