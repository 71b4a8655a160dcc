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
  /** Stores each value: 20 KeySet when the key was new, 21 KeyUpdated when it existed. */
  set(keys: readonly string[], values: readonly string[]): MaybePromise<SetStatus[]>;
  /** Stores each value only where the key is new: 20 KeySet, else 23 KeyExists. */
  add(keys: readonly string[], values: readonly string[]): MaybePromise<AddStatus[]>;
  /** The stored JSON text of each key, or 22 KeyNotExist when it has none. */
  get(keys: readonly string[]): MaybePromise<GetResult[]>;
  /** Deletes each key: 24 KeyRemoved, or 22 KeyNotExist when it had none. */
  remove(keys: readonly string[]): MaybePromise<RemoveStatus[]>;
  /** 23 KeyExists or 22 KeyNotExist for each key. */
  contains(keys: readonly string[]): MaybePromise<ContainsStatus[]>;
  /**
   * Appends each value to the stored one, atomically per key (see `json/append.ts`):
   * 1 Ok, 22 KeyNotExist, or 41 ValueTypeInvalid leaving the stored value untouched.
   */
  append(keys: readonly string[], values: readonly string[]): MaybePromise<AppendStatus[]>;
  /** The number of keys in the whole store. */
  count(): MaybePromise<number>;
  /** Deletes every key in the whole store and answers how many there were. */
  clear(): MaybePromise<number>;
  /** Resolves true when the store answers now; never rejects. */
  ready(): Promise<boolean>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
  /** What a store that keeps its own data holds, for the metrics (the memory store). */
  usage?(): StoreUsage;
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
