import type { Status } from "./status.ts";

/** Commands whose body is an object of key -> value. */
export type PairCommandName =
  | "KV_SET"
  | "KV_SETQ"
  | "KV_ADD"
  | "KV_ADDQ"
  | "KV_APPEND"
  | "KV_EXPIRE";
/** Commands whose body is an array of keys. */
export type KeyCommandName = "KV_GET" | "KV_RMV" | "KV_CONTAINS" | "KV_PERSIST" | "KV_TTL";
/** Commands whose body is an object whose members are ignored. */
export type WholeCommandName = "KV_COUNT" | "KV_CLEAR" | "KV_SERVER_INFO";
/** Commands whose body is an object of named, typed members, read whole. */
export type QueryCommandName = "KV_KEYS" | "KV_WATCH" | "KV_UNWATCH";
export type CommandName = PairCommandName | KeyCommandName | WholeCommandName | QueryCommandName;

export type BodyShape = "pairs" | "keys" | "whole" | "query";
/** A protocol version: 1 is NemesisDB's, 2 is kvfleet's own. */
export type Version = 1 | 2;

/** Each command's body shape and the first version that has it; a new command must appear here. */
const COMMAND_TABLE = {
  KV_SET: ["pairs", 1],
  KV_SETQ: ["pairs", 1],
  KV_ADD: ["pairs", 1],
  KV_ADDQ: ["pairs", 1],
  KV_APPEND: ["pairs", 1],
  KV_GET: ["keys", 1],
  KV_RMV: ["keys", 1],
  KV_CONTAINS: ["keys", 1],
  KV_COUNT: ["whole", 1],
  KV_CLEAR: ["whole", 1],
  KV_SERVER_INFO: ["whole", 1],
  KV_EXPIRE: ["pairs", 2],
  KV_PERSIST: ["keys", 2],
  KV_TTL: ["keys", 2],
  KV_KEYS: ["query", 2],
  KV_WATCH: ["query", 2],
  KV_UNWATCH: ["query", 2],
} as const satisfies Record<CommandName, readonly [BodyShape, Version]>;

// Maps, not the object: a name from the wire must never find Object.prototype members.
const byVersion = (version: Version): ReadonlyMap<string, BodyShape> =>
  new Map(
    Object.entries(COMMAND_TABLE)
      .filter(([, [, since]]) => since <= version)
      .map(([name, [shape]]) => [name, shape]),
  );
/** The commands each version knows, with their body shapes. */
export const SHAPES: Readonly<Record<Version, ReadonlyMap<string, BodyShape>>> = {
  1: byVersion(1),
  2: byVersion(2),
};

/** Every command of every version. */
export const COMMAND_NAMES = Object.keys(COMMAND_TABLE) as readonly CommandName[];

/** The one option a request may carry: `ttl`, on these commands (version 2). */
export const TTL_COMMANDS: ReadonlySet<string> = new Set([
  "KV_SET",
  "KV_SETQ",
  "KV_ADD",
  "KV_ADDQ",
]);

/** The members of a KV_KEYS body. */
export interface KeysQuery {
  readonly prefix: string;
  readonly limit: number;
  readonly cursor?: string;
}

export type Command =
  /** `ttl` (ms) only on the commands of {@link TTL_COMMANDS}; KV_EXPIRE's values are its ms, unchecked. */
  | { name: PairCommandName; keys: string[]; tokens: string[]; values: string[]; ttl?: number }
  /** `keys[i]` is null where the element was not a string (status 26). */
  | { name: KeyCommandName; keys: (string | null)[]; tokens: string[] }
  | { name: WholeCommandName }
  | { name: "KV_KEYS"; query: KeysQuery }
  /** At least one key or prefix; a prefix "" watches every key. */
  | { name: "KV_WATCH"; keys: readonly string[]; prefixes: readonly string[] }
  | { name: "KV_UNWATCH"; w: number };

/** A message that can't be tied to a command: answered with `KV_ERR`. */
export interface MessageError {
  name: "KV_ERR";
  st: typeof Status.JsonInvalid | typeof Status.CommandNotExist | typeof Status.CommandMultiple;
  m: string;
}

/** A known command whose body (or a member of it) has the wrong JSON type (status 12). */
export interface BodyTypeError {
  name: "BODY_TYPE";
  command: CommandName;
  /** What was wrong, for version 2's `m`; version 1 answers without it. */
  m: string;
}

export type Parsed = Command | MessageError | BodyTypeError;

export function messageError(st: MessageError["st"], m: string): MessageError {
  return { name: "KV_ERR", st, m };
}
