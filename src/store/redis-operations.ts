import type { Cluster, Redis } from "ioredis";
import { Status } from "../protocol/status.ts";
import type { Operation } from "./redis-batch.ts";
import type {
  AddStatus,
  AppendStatus,
  ContainsStatus,
  ExpireStatus,
  GetResult,
  PersistStatus,
  Remaining,
  RemoveStatus,
  SetStatus,
  TtlResult,
} from "./store.ts";

type Failed = typeof Status.Unknown;

export interface Operations {
  set: Operation<SetStatus>;
  add: Operation<AddStatus>;
  get: Operation<GetResult>;
  remove: Operation<RemoveStatus>;
  contains: Operation<ContainsStatus>;
  append: Operation<AppendStatus>;
  /** set and add with a ttl: separate operations, so the ones without keep their scripts. */
  setPx: Operation<SetStatus>;
  addPx: Operation<AddStatus>;
  expire: Operation<ExpireStatus>;
  persist: Operation<PersistStatus>;
  ttl: Operation<TtlResult>;
}

/** One shared answer for every persistent key. */
const PERSISTENT: Remaining = Object.freeze({ ms: null });

/** PTTL's reply: -2 for a missing key, -1 for a persistent one, else the ms left. */
function remaining(reply: unknown): TtlResult {
  if (typeof reply !== "number") return Status.Unknown;
  if (reply === -2) return Status.KeyNotExist;
  if (reply === -1) return PERSISTENT;
  return reply >= 0 ? { ms: reply } : Status.Unknown;
}

/** A reply of 1 or 0 (from a plain command or a script) as one of two statuses; -1 or else is 100. */
const either =
  <A extends Status, B extends Status>(one: A, zero: B) =>
  (reply: unknown): A | B | Failed =>
    reply === 1 ? one : reply === 0 ? zero : Status.Unknown;

/** The event channels write scripts publish on (see `redis-channels.ts`). */
export interface Channels {
  /** The channels of a group's keys: one for all on a single Redis, one per key on a Cluster. */
  of(keys: readonly string[]): string[];
  /** The channel of a lone key. */
  one(key: string): string;
}

/**
 * How each operation runs on Redis. Scripts take the group's keys, then one
 * value per key, then (timed scripts) one ttl per key, then (scripts that
 * change keys) the event channels; `MGET` reads a group on a single Redis,
 * where keys of any slot are allowed. Every write goes through a script,
 * lone keys too, so that its event is published in the same atomic step.
 */
export function operations(client: Redis | Cluster, channels: Channels): Operations {
  type Script = (first: string, ...args: (string | number)[]) => Promise<unknown[]>;
  const ch = channels.one;
  const many = (run: Script) => (keys: string[], values: string[]) =>
    run(keys[0] as string, keys.length, ...keys, ...values, ...channels.of(keys));
  const keysOnly = (run: Script) => (keys: string[]) =>
    run(keys[0] as string, keys.length, ...keys);
  const removes = (run: Script) => (keys: string[]) =>
    run(keys[0] as string, keys.length, ...keys, ...channels.of(keys));
  const timed = (run: Script) => (keys: string[], values: string[], ttls: number[]) =>
    run(keys[0] as string, keys.length, ...keys, ...values, ...ttls, ...channels.of(keys));
  // KV_EXPIRE has no value: its ms go where a value would (see EXPIRE_MANY_LUA).
  const msOnly = (run: Script) => (keys: string[], _values: string[], ms: number[]) =>
    run(keys[0] as string, keys.length, ...keys, ...ms);
  return {
    set: {
      many: many((k, ...a) => client.kvfleetSetMany(k, ...a)),
      one: (key, value) => client.kvfleetSet(key, value, ch(key)),
      result: either(Status.KeyUpdated, Status.KeySet),
    },
    add: {
      many: many((k, ...a) => client.kvfleetAddMany(k, ...a)),
      one: (key, value) => client.kvfleetAdd(key, value, ch(key)),
      result: either(Status.KeySet, Status.KeyExists),
    },
    get: {
      many: client.isCluster
        ? keysOnly((k, ...a) => client.kvfleetGetMany(k, ...a))
        : (keys) => client.mget(keys),
      one: (key) => client.mget(key).then((replies) => replies[0]),
      result: (reply) => (typeof reply === "string" ? reply : Status.KeyNotExist),
    },
    remove: {
      many: removes((k, ...a) => client.kvfleetDelMany(k, ...a)),
      one: (key) => client.kvfleetDel(key, ch(key)),
      result: either(Status.KeyRemoved, Status.KeyNotExist),
    },
    contains: {
      many: keysOnly((k, ...a) => client.kvfleetExistsMany(k, ...a)),
      one: (key) => client.exists(key),
      result: either(Status.KeyExists, Status.KeyNotExist),
    },
    append: {
      many: many((k, ...a) => client.kvfleetAppendMany(k, ...a)),
      one: (key, value) => client.kvfleetAppend(key, value, ch(key)),
      result: (reply) =>
        reply === 1
          ? Status.Ok
          : reply === 22
            ? Status.KeyNotExist
            : reply === 41
              ? Status.ValueTypeInvalid
              : Status.Unknown,
    },
    setPx: {
      timed: true,
      many: timed((k, ...a) => client.kvfleetSetPxMany(k, ...a)),
      one: (key, value, ttl) => client.kvfleetSetPx(key, value, ttl, ch(key)),
      result: either(Status.KeyUpdated, Status.KeySet),
    },
    addPx: {
      timed: true,
      many: timed((k, ...a) => client.kvfleetAddPxMany(k, ...a)),
      one: (key, value, ttl) => client.kvfleetAddPx(key, value, ttl, ch(key)),
      result: either(Status.KeySet, Status.KeyExists),
    },
    expire: {
      timed: true,
      many: msOnly((k, ...a) => client.kvfleetExpireMany(k, ...a)),
      one: (key, _value, ms) => client.pexpire(key, ms),
      result: either(Status.Ok, Status.KeyNotExist),
    },
    persist: {
      many: keysOnly((k, ...a) => client.kvfleetPersistMany(k, ...a)),
      one: (key) => client.kvfleetPersist(key),
      result: either(Status.Ok, Status.KeyNotExist),
    },
    ttl: {
      many: keysOnly((k, ...a) => client.kvfleetPttlMany(k, ...a)),
      one: (key) => client.pttl(key),
      result: remaining,
    },
  };
}
