import type { Command } from "../protocol/commands.ts";
import { MAX_TTL, wholeNumberText } from "../protocol/numbers.ts";
import type { KeyResult, Outcome } from "../protocol/outcome.ts";
import { Status } from "../protocol/status.ts";
import type { MaybePromise, Store } from "../store/store.ts";
import type { Session } from "./watches.ts";

/** What KV_SERVER_INFO reports. */
export interface ServerCounters {
  readonly version: string;
  /** Messages received by this process so far, the current one included. */
  readonly queries: number;
}

/**
 * Runs one command against the store. Never throws and never rejects: a
 * failure of the store, or any exception, becomes status 100 for each key
 * of the command, or for the command itself. `session` holds the
 * connection's watches (version 2).
 */
export function execute(
  command: Command,
  store: Store,
  counters: ServerCounters,
  session?: Session,
): MaybePromise<Outcome> {
  try {
    const outcome = run(command, store, counters, session);
    return outcome instanceof Promise
      ? outcome.catch((error: unknown) => failed(command, error))
      : outcome;
  } catch (error) {
    return failed(command, error);
  }
}

function run(
  command: Command,
  store: Store,
  counters: ServerCounters,
  session: Session | undefined,
): MaybePromise<Outcome> {
  switch (command.name) {
    case "KV_SET":
    case "KV_SETQ":
      return keys(store.set(command.keys, command.values, command.ttl));
    case "KV_ADD":
    case "KV_ADDQ":
      return keys(store.add(command.keys, command.values, command.ttl));
    case "KV_APPEND":
      return keys(store.append(command.keys, command.values));
    case "KV_EXPIRE":
      return expire(command.keys, command.values, store);
    case "KV_GET":
      return merged(command.keys, Status.KeyTypeInvalid, (valid) => store.get(valid));
    case "KV_RMV":
      return merged(command.keys, Status.KeyTypeInvalid, (valid) => store.remove(valid));
    case "KV_CONTAINS":
      return merged(command.keys, Status.KeyTypeInvalid, (valid) => store.contains(valid));
    case "KV_PERSIST":
      return merged(command.keys, Status.KeyTypeInvalid, (valid) => store.persist(valid));
    case "KV_TTL":
      return merged(command.keys, Status.KeyTypeInvalid, (valid) => store.ttl(valid));
    case "KV_COUNT":
      return then(store.count(), (cnt) => ({ kind: "count", cnt }));
    case "KV_CLEAR":
      return then(store.clear(), (cnt) => ({ kind: "count", cnt }));
    case "KV_SERVER_INFO":
      return { kind: "info", qryCnt: counters.queries, version: counters.version };
    case "KV_KEYS":
      return then(store.keys(command.query), (page) =>
        page === null
          ? { kind: "failed", st: Status.CommandType, m: "cursor is not one this store made" }
          : { kind: "page", keys: page.keys, cursor: page.cursor },
      );
    case "KV_WATCH": {
      const w = session?.watch(command.keys, command.prefixes);
      if (w === undefined) {
        const m = session === undefined ? "no watches here" : "too many watches on this connection";
        return { kind: "failed", st: Status.CommandType, m };
      }
      return w.then((n) => ({ kind: "watch", st: Status.Ok, w: n }));
    }
    case "KV_UNWATCH": {
      const st = session?.unwatch(command.w) ? Status.Ok : Status.KeyNotExist;
      return { kind: "watch", st, w: command.w };
    }
    default:
      return command satisfies never;
  }
}

/** Maps a result that may still be pending without paying for a promise when it is not. */
function then<T>(result: MaybePromise<T>, map: (value: T) => Outcome): MaybePromise<Outcome> {
  return result instanceof Promise ? result.then(map) : map(result);
}

const keys = (results: MaybePromise<readonly KeyResult[]>) =>
  then(results, (r) => ({ kind: "keys", results: r }));

/**
 * A command some of whose keys are answered without the store (`early`
 * where `keys[i]` is null): the store gets the others, and their results
 * are merged back in place.
 */
function merged<T>(
  keys: readonly (T | null)[],
  early: Status,
  call: (valid: T[]) => MaybePromise<readonly KeyResult[]>,
): MaybePromise<Outcome> {
  if (!keys.includes(null)) return then(call(keys as T[]), (r) => ({ kind: "keys", results: r }));
  return then(call(keys.filter((k): k is T => k !== null)), (stored) => {
    let j = 0;
    return {
      kind: "keys",
      results: keys.map((k) => (k === null ? early : (stored[j++] as KeyResult))),
    };
  });
}

/** KV_EXPIRE: a key whose ms is not a whole number in range answers 41 and stays untouched. */
function expire(
  keys: readonly string[],
  values: readonly string[],
  store: Store,
): MaybePromise<Outcome> {
  const ms = values.map((text) => wholeNumberText(text, 1, MAX_TTL) ?? null);
  const pairs = keys.map((_, i) => (ms[i] === null ? null : i));
  return merged(pairs, Status.ValueTypeInvalid, (valid) =>
    store.expire(
      valid.map((i) => keys[i] as string),
      valid.map((i) => ms[i] as number),
    ),
  );
}

/** Status 100 for every key of the command (26 stays 26), or for the command itself. */
function failed(command: Command, error: unknown): Outcome {
  const m = error instanceof Error ? error.message : String(error);
  // Per-key commands carry each key's token; KV_WATCH has keys too, but fails whole.
  if (!("tokens" in command)) return { kind: "failed", st: Status.Unknown, m };
  if (command.name === "KV_EXPIRE") {
    const results = command.values.map((text) =>
      wholeNumberText(text, 1, MAX_TTL) === undefined ? Status.ValueTypeInvalid : Status.Unknown,
    );
    return { kind: "keys", results };
  }
  const results = (command.keys as readonly (string | null)[]).map((key) =>
    key === null ? Status.KeyTypeInvalid : Status.Unknown,
  );
  return { kind: "keys", results };
}
