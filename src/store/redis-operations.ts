import type { Cluster, Redis } from "ioredis";
import { Status } from "../protocol/status.ts";
import type { Operation } from "./redis-batch.ts";
import type {
  AddStatus,
  AppendStatus,
  ContainsStatus,
  GetResult,
  RemoveStatus,
  SetStatus,
} from "./store.ts";

type Failed = typeof Status.Unknown;

export interface Operations {
  set: Operation<SetStatus>;
  add: Operation<AddStatus>;
  get: Operation<GetResult>;
  remove: Operation<RemoveStatus>;
  contains: Operation<ContainsStatus>;
  append: Operation<AppendStatus>;
}

/** A reply of 1 or 0 (from a plain command or a script) as one of two statuses; -1 or else is 100. */
const either =
  <A extends Status, B extends Status>(one: A, zero: B) =>
  (reply: unknown): A | B | Failed =>
    reply === 1 ? one : reply === 0 ? zero : Status.Unknown;

/**
 * How each operation runs on Redis. Scripts take the group's keys, then one
 * value per key; `MGET` reads a group on a single Redis, where keys of any
 * slot are allowed.
 */
export function operations(client: Redis | Cluster): Operations {
  type Script = (first: string, ...args: (string | number)[]) => Promise<unknown[]>;
  const many = (run: Script) => (keys: string[], values: string[]) =>
    run(keys[0] as string, keys.length, ...keys, ...values);
  const keysOnly = (run: Script) => (keys: string[]) =>
    run(keys[0] as string, keys.length, ...keys);
  return {
    set: {
      many: many((k, ...a) => client.kvfleetSetMany(k, ...a)),
      one: (key, value) => client.kvfleetSet(key, value),
      result: either(Status.KeyUpdated, Status.KeySet),
    },
    add: {
      many: many((k, ...a) => client.kvfleetAddMany(k, ...a)),
      one: (key, value) => client.set(key, value, "NX").then((ok) => (ok === null ? 0 : 1)),
      result: either(Status.KeySet, Status.KeyExists),
    },
    // A key holding no string (another application's list, say) reads as absent,
    // as MGET answers it, whether it is read alone or in a group.
    get: {
      many: client.isCluster
        ? keysOnly((k, ...a) => client.kvfleetGetMany(k, ...a))
        : (keys) => client.mget(keys),
      one: (key) => client.mget(key).then((replies) => replies[0]),
      result: (reply) => (typeof reply === "string" ? reply : Status.KeyNotExist),
    },
    remove: {
      many: keysOnly((k, ...a) => client.kvfleetDelMany(k, ...a)),
      one: (key) => client.del(key),
      result: either(Status.KeyRemoved, Status.KeyNotExist),
    },
    contains: {
      many: keysOnly((k, ...a) => client.kvfleetExistsMany(k, ...a)),
      one: (key) => client.exists(key),
      result: either(Status.KeyExists, Status.KeyNotExist),
    },
    append: {
      many: many((k, ...a) => client.kvfleetAppendMany(k, ...a)),
      one: (key, value) => client.kvfleetAppend(key, value),
      result: (reply) =>
        reply === 1
          ? Status.Ok
          : reply === 22
            ? Status.KeyNotExist
            : reply === 41
              ? Status.ValueTypeInvalid
              : Status.Unknown,
    },
  };
}
