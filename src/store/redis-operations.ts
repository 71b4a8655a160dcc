import type { Cluster, Redis } from "ioredis";
import { Status } from "../protocol/status.ts";
import type { Operation } from "./redis-batch.ts";
import type { GroupWrite, ScriptName } from "./redis-scripts.ts";
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

/** A set's reply: 1 or 0 from a script, the old value or nil from a plain `SET … GET`. */
function existed(reply: unknown): SetStatus | Failed {
  if (reply === 1 || typeof reply === "string") return Status.KeyUpdated;
  return reply === 0 || reply === null ? Status.KeySet : Status.Unknown;
}

/** An add's reply: 1 or 0 from a script, OK or nil from a plain `SET NX`. */
function stored(reply: unknown): AddStatus | Failed {
  if (reply === 1 || reply === "OK") return Status.KeySet;
  return reply === 0 || reply === null ? Status.KeyExists : Status.Unknown;
}

/** The event channels write scripts publish on (see `redis-channels.ts`). */
export interface Channels {
  /** The channels of a group's keys: one for all on a single Redis, one per key on a Cluster. */
  of(keys: readonly string[]): string[];
  /** The channel of a lone key. */
  one(key: string): string;
}

/**
 * What the operations send commands through: ioredis (`ioredisRunner`) or the
 * store's own connection to a single Redis (`resp-connection.ts`). Replies
 * come the way ioredis gives them: a failed key of a script is an Error in
 * its place, a failed command a rejection.
 */
export interface Runner {
  /** A script of `redis-scripts.ts` by name: its one declared key, then its arguments. */
  script(name: ScriptName, key: string, args: (string | number)[]): Promise<unknown>;
  /** Plain commands in a row, one reply each, an error in its command's place. */
  pipeline(commands: (string | number)[][]): Promise<unknown[]>;
  /** A plain command of one key. */
  call(
    command: "MGET" | "EXISTS" | "PEXPIRE" | "PTTL" | "SET" | "DEL",
    args: (string | number)[],
  ): Promise<unknown>;
}

/** Scripts and commands through an ioredis client (a Cluster routes each by its key). */
export function ioredisRunner(client: Redis | Cluster): Runner {
  const commands = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return {
    script: (name, key, args) =>
      (commands[name] as (...a: unknown[]) => Promise<unknown>).call(client, key, ...args),
    call: (command, args) => client.call(command, ...args),
    pipeline: (commands) =>
      client
        .pipeline(commands as [string, ...(string | number)[]][])
        .exec()
        .then((replies) => (replies ?? []).map(([err, reply]) => err ?? reply)),
  };
}

/**
 * How each operation runs on Redis. Scripts take the group's keys, then one
 * value per key, then (timed scripts) one ttl per key, then (scripts that
 * change keys) the event channels; `MGET` reads a group on a single Redis,
 * where keys of any slot are allowed. Every write goes through a script,
 * lone keys too, so that its event is published in the same atomic step.
 */
export function operations(
  run: Runner,
  cluster: boolean,
  channels: Channels,
  quiet: () => boolean = () => false,
): Operations {
  const ch = channels.one;
  const script = (name: ScriptName, key: string, ...args: (string | number)[]) =>
    run.script(name, key, args);
  const group = (name: ScriptName, keys: string[], ...columns: (string | number)[][]) => {
    const args: (string | number)[] = [keys.length, ...keys];
    for (const column of columns) for (const x of column) args.push(x);
    return run.script(name, keys[0] as string, args) as Promise<unknown[]>;
  };
  const many = (name: GroupWrite) => (keys: string[], values: string[]) =>
    group(name, keys, values, channels.of(keys));
  type Write = Pick<Operation<unknown>, "many" | "one">;
  /**
   * A write a quiet node sends as the plain `command` with `args` (`SET … GET`,
   * `SET … NX`, `DEL`), a group as one pipelined write of them: cheaper in
   * Redis per key than a script, and as exact (each is atomic). While some
   * node watches, `loud`: the scripts, which publish.
   */
  const quietly = (
    command: "SET" | "DEL",
    args: (key: string, value: string, ttl: number) => (string | number)[],
    loud: Write,
  ): Write => ({
    many: (keys, values, ttls) => {
      if (!quiet()) return loud.many(keys, values, ttls);
      const commands = keys.map((key, i) => {
        const one = args(key, values[i] as string, ttls[i] as number);
        one.unshift(command);
        return one;
      });
      return run.pipeline(commands);
    },
    one: (key, value, ttl) =>
      quiet() ? run.call(command, args(key, value, ttl)) : loud.one(key, value, ttl),
  });
  const keysOnly = (name: ScriptName) => (keys: string[]) => group(name, keys);
  const removes = (name: GroupWrite) => (keys: string[]) => group(name, keys, channels.of(keys));
  const timed = (name: GroupWrite) => (keys: string[], values: string[], ttls: number[]) =>
    group(name, keys, values, ttls, channels.of(keys));
  // KV_EXPIRE has no value: its ms go where a value would (see EXPIRE_MANY_LUA).
  const msOnly = (name: ScriptName) => (keys: string[], _values: string[], ms: number[]) =>
    group(name, keys, ms);
  return {
    set: {
      ...quietly("SET", (key, value) => [key, value, "GET"], {
        many: many("kvfleetSetMany"),
        one: (key, value) => script("kvfleetSet", key, value, ch(key)),
      }),
      result: existed,
    },
    add: {
      ...quietly("SET", (key, value) => [key, value, "NX"], {
        many: many("kvfleetAddMany"),
        one: (key, value) => script("kvfleetAdd", key, value, ch(key)),
      }),
      result: stored,
    },
    get: {
      many: cluster
        ? keysOnly("kvfleetGetMany")
        : (keys) => run.call("MGET", keys) as Promise<unknown[]>,
      one: (key) => run.call("MGET", [key]).then((replies) => (replies as unknown[])[0]),
      result: (reply) => (typeof reply === "string" ? reply : Status.KeyNotExist),
    },
    remove: {
      ...quietly("DEL", (key) => [key], {
        many: removes("kvfleetDelMany"),
        one: (key) => script("kvfleetDel", key, ch(key)),
      }),
      result: either(Status.KeyRemoved, Status.KeyNotExist),
    },
    contains: {
      many: keysOnly("kvfleetExistsMany"),
      one: (key) => run.call("EXISTS", [key]),
      result: either(Status.KeyExists, Status.KeyNotExist),
    },
    append: {
      many: (keys, values) =>
        quiet()
          ? group("kvfleetAppendManyQuiet", keys, values)
          : group("kvfleetAppendMany", keys, values, channels.of(keys)),
      one: (key, value) => script("kvfleetAppend", key, value, ch(key)),
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
      ...quietly("SET", (key, value, ttl) => [key, value, "PX", ttl, "GET"], {
        many: timed("kvfleetSetPxMany"),
        one: (key, value, ttl) => script("kvfleetSetPx", key, value, ttl, ch(key)),
      }),
      result: existed,
    },
    addPx: {
      timed: true,
      ...quietly("SET", (key, value, ttl) => [key, value, "PX", ttl, "NX"], {
        many: timed("kvfleetAddPxMany"),
        one: (key, value, ttl) => script("kvfleetAddPx", key, value, ttl, ch(key)),
      }),
      result: stored,
    },
    expire: {
      timed: true,
      many: msOnly("kvfleetExpireMany"),
      one: (key, _value, ms) => run.call("PEXPIRE", [key, ms]),
      result: either(Status.Ok, Status.KeyNotExist),
    },
    persist: {
      many: keysOnly("kvfleetPersistMany"),
      one: (key) => script("kvfleetPersist", key),
      result: either(Status.Ok, Status.KeyNotExist),
    },
    ttl: {
      many: keysOnly("kvfleetPttlMany"),
      one: (key) => run.call("PTTL", [key]),
      result: remaining,
    },
  };
}
