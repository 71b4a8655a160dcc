import type { Command, CommandName, KeyCommandName } from "../protocol/commands.ts";
import * as rsp from "../protocol/responses.ts";
import { Status } from "../protocol/status.ts";
import type { GetResult, MaybePromise, Store } from "../store/store.ts";

/** The response texts of one message, in order; a promise when the store answers later. */
export type Reply = MaybePromise<string[]>;

/** What KV_SERVER_INFO reports. */
export interface ServerCounters {
  readonly version: string;
  /** Messages received by this process so far, the current one included. */
  readonly queries: number;
}

/**
 * Runs one command against the store. Never throws and never rejects: a
 * failure of the store, or any exception, becomes status 100 for the command.
 */
export function execute(command: Command, store: Store, counters: ServerCounters): Reply {
  try {
    const reply = run(command, store, counters);
    return reply instanceof Promise
      ? reply.catch((error: unknown) => failed(command, error))
      : reply;
  } catch (error) {
    return failed(command, error);
  }
}

function run(command: Command, store: Store, counters: ServerCounters): Reply {
  switch (command.name) {
    case "KV_SET":
      return then(store.set(command.keys, command.values), (sts) =>
        statuses(command.name, sts, command.tokens),
      );
    case "KV_ADD":
      return then(store.add(command.keys, command.values), (sts) =>
        statuses(command.name, sts, command.tokens),
      );
    case "KV_APPEND":
      return then(store.append(command.keys, command.values), (sts) =>
        statuses(command.name, sts, command.tokens),
      );
    case "KV_SETQ":
      return then(store.set(command.keys, command.values), (sts) =>
        quiet(command.name, sts, command.tokens, Status.KeySet, Status.KeyUpdated),
      );
    case "KV_ADDQ":
      return then(store.add(command.keys, command.values), (sts) =>
        quiet(command.name, sts, command.tokens, Status.KeySet, Status.KeySet),
      );
    case "KV_GET":
      return then(store.get(validKeys(command.keys)), (results) =>
        perKey(command.name, command.keys, command.tokens, results, gotten),
      );
    case "KV_RMV":
      return then(store.remove(validKeys(command.keys)), (results) =>
        perKey(command.name, command.keys, command.tokens, results),
      );
    case "KV_CONTAINS":
      return then(store.contains(validKeys(command.keys)), (results) =>
        perKey(command.name, command.keys, command.tokens, results),
      );
    case "KV_COUNT":
      return then(store.count(), (n) => [rsp.counted("KV_COUNT", n)]);
    case "KV_CLEAR":
      return then(store.clear(), (n) => [rsp.counted("KV_CLEAR", n)]);
    case "KV_SERVER_INFO":
      return [rsp.serverInfo(counters.queries, counters.version)];
    default:
      return command satisfies never;
  }
}

/** Maps a result that may still be pending without paying for a promise when it is not. */
function then<T>(result: MaybePromise<T>, map: (value: T) => string[]): Reply {
  return result instanceof Promise ? result.then(map) : map(result);
}

function statuses(name: CommandName, sts: readonly Status[], tokens: readonly string[]): string[] {
  const out = new Array<string>(sts.length);
  for (let i = 0; i < sts.length; i++) {
    out[i] = rsp.keyStatus(name, sts[i] as Status, tokens[i] as string);
  }
  return out;
}

/** Quiet commands answer only the keys whose status is neither success status. */
function quiet(
  name: CommandName,
  sts: readonly Status[],
  tokens: readonly string[],
  okA: Status,
  okB: Status,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < sts.length; i++) {
    const st = sts[i] as Status;
    if (st !== okA && st !== okB) out.push(rsp.keyStatus(name, st, tokens[i] as string));
  }
  return out;
}

function gotten(result: GetResult, token: string): string {
  return typeof result === "string"
    ? rsp.found(token, result)
    : rsp.keyStatus("KV_GET", result, token);
}

/** The keys that reach the store: elements that are not strings never do. */
function validKeys(keys: readonly (string | null)[]): readonly string[] {
  return keys.includes(null) ? keys.filter((k) => k !== null) : (keys as readonly string[]);
}

/** Merges the store's results with status 26 in the place of each element that was not a string. */
function perKey<R extends GetResult | Status>(
  name: KeyCommandName,
  keys: readonly (string | null)[],
  tokens: readonly string[],
  results: readonly R[],
  encode: (result: R, token: string) => string = (st, token) =>
    rsp.keyStatus(name, st as Status, token),
): string[] {
  const out = new Array<string>(keys.length);
  let r = 0;
  for (let i = 0; i < keys.length; i++) {
    out[i] =
      keys[i] === null
        ? rsp.keyStatus(name, Status.KeyTypeInvalid, '""')
        : encode(results[r++] as R, tokens[i] as string);
  }
  return out;
}

/** Status 100 for every key of the command, or for the command itself. */
function failed(command: Command, error: unknown): string[] {
  const reason = error instanceof Error ? error.message : String(error);
  if (!("keys" in command)) return [rsp.commandFailed(command.name, Status.Unknown, reason)];
  return command.keys.map((key, i) =>
    key === null
      ? rsp.keyStatus(command.name, Status.KeyTypeInvalid, '""')
      : rsp.keyStatus(command.name, Status.Unknown, command.tokens[i] as string),
  );
}
