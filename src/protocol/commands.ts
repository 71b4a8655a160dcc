import { compact, JsonSyntaxError, Scanner, stringValue } from "../json/scanner.ts";
import { Status } from "./status.ts";

/** Commands whose body is an object of key -> value. */
export type PairCommandName = "KV_SET" | "KV_SETQ" | "KV_ADD" | "KV_ADDQ" | "KV_APPEND";
/** Commands whose body is an array of keys. */
export type KeyCommandName = "KV_GET" | "KV_RMV" | "KV_CONTAINS";
/** Commands whose body is an object whose members are ignored. */
export type WholeCommandName = "KV_COUNT" | "KV_CLEAR" | "KV_SERVER_INFO";
export type CommandName = PairCommandName | KeyCommandName | WholeCommandName;

type BodyShape = "pairs" | "keys" | "whole";

/** A new command without a body shape fails the type check here. */
const SHAPE_OF = {
  KV_SET: "pairs",
  KV_SETQ: "pairs",
  KV_ADD: "pairs",
  KV_ADDQ: "pairs",
  KV_APPEND: "pairs",
  KV_GET: "keys",
  KV_RMV: "keys",
  KV_CONTAINS: "keys",
  KV_COUNT: "whole",
  KV_CLEAR: "whole",
  KV_SERVER_INFO: "whole",
} as const satisfies Record<CommandName, BodyShape>;

// A Map, not the object: a name from the wire must never find Object.prototype members.
const SHAPES: ReadonlyMap<string, BodyShape> = new Map(Object.entries(SHAPE_OF));

/** The eleven commands of protocol v1. */
export const COMMAND_NAMES = [...SHAPES.keys()] as readonly CommandName[];

/**
 * A key as the client wrote it: `key` is its decoded value, `token` its JSON
 * string token, ready to be written into a response without encoding it again.
 */
export interface Keys {
  keys: string[];
  tokens: string[];
}

export type Command =
  | ({ name: PairCommandName; values: string[] } & Keys)
  /** `keys[i]` is null where the element was not a string (status 26). */
  | { name: KeyCommandName; keys: (string | null)[]; tokens: string[] }
  | { name: WholeCommandName };

/** A message that can't be tied to a command: answered with `KV_ERR`. */
export interface MessageError {
  name: "KV_ERR";
  st: typeof Status.JsonInvalid | typeof Status.CommandNotExist | typeof Status.CommandMultiple;
  m: string;
}

/** A known command whose body has the wrong JSON type (status 12). */
export interface BodyTypeError {
  name: "BODY_TYPE";
  command: CommandName;
}

export type Parsed = Command | MessageError | BodyTypeError;

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;

/** Parsing never yields, so one scanner serves every message. */
const scanner = new Scanner("");

/**
 * Parses one text message. Precedence follows the spec: JSON validity of the
 * whole message first, then the member count, the command name, the body type.
 */
export function parseMessage(text: string): Parsed {
  const sc = scanner.reset(text);
  try {
    return parseObject(sc);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return messageError(Status.JsonInvalid, error.message);
    throw error;
  }
}

function parseObject(sc: Scanner): Parsed {
  sc.skipSpace();
  if (sc.peek() !== OPEN_BRACE) {
    sc.value();
    expectEnd(sc);
    return messageError(Status.JsonInvalid, "message is not a JSON object");
  }
  sc.pos++;
  sc.skipSpace();
  if (sc.peek() === CLOSE_BRACE) {
    sc.pos++;
    expectEnd(sc);
    return messageError(Status.CommandNotExist, "");
  }
  const name = knownName(sc) ?? commandName(sc);
  sc.colon();
  const first = parseBody(sc, name);
  let members = 1;
  while (sc.more(CLOSE_BRACE)) {
    sc.string();
    sc.colon();
    sc.value();
    members++;
  }
  expectEnd(sc);
  return members === 1 ? first : messageError(Status.CommandMultiple, "");
}

// The most frequent first.
const NAMES: readonly string[] = [
  "KV_GET",
  "KV_SET",
  ...[...SHAPES.keys()].filter((n) => n !== "KV_GET" && n !== "KV_SET"),
];

/**
 * The common case without slicing and hashing a fresh string: the name token
 * is one of the commands, written without escapes. Advances past it.
 */
function knownName(sc: Scanner): string | undefined {
  const text = sc.text;
  const start = sc.pos + 1;
  if (text.charCodeAt(sc.pos) !== QUOTE) return undefined;
  for (const name of NAMES) {
    if (text.charCodeAt(start + name.length) === QUOTE && text.startsWith(name, start)) {
      sc.pos = start + name.length + 1;
      return name;
    }
  }
  return undefined;
}

/** Any other name token, decoded. */
function commandName(sc: Scanner): string {
  const start = sc.pos;
  sc.string();
  return stringValue(sc.text, start, sc.pos, sc.escaped);
}

function expectEnd(sc: Scanner): void {
  sc.skipSpace();
  if (!sc.atEnd()) sc.fail("unexpected text after the JSON value");
}

function parseBody(sc: Scanner, name: string): Parsed {
  const shape = SHAPES.get(name);
  const open = sc.peek();
  if (shape === undefined) {
    sc.value();
    return messageError(Status.CommandNotExist, name);
  }
  const command = name as CommandName;
  if (open !== (shape === "keys" ? OPEN_BRACKET : OPEN_BRACE)) {
    sc.value();
    return { name: "BODY_TYPE", command };
  }
  if (shape === "whole") {
    sc.value();
    return { name: command as WholeCommandName };
  }
  return shape === "pairs"
    ? parsePairs(sc, command as PairCommandName)
    : parseKeys(sc, command as KeyCommandName);
}

/**
 * A slice of a string keeps the whole string alive, and the memory store keeps
 * keys and values for as long as they exist: a 3-byte value sent beside a
 * megabyte of other data would pin that megabyte. Above this size a message's
 * keys and values are copied out of it; below it the pinned part is small.
 */
const COPY_ABOVE = 4096;

/** A flat copy that shares no storage with `s` (a plain slice or concat would). */
const copy = (s: string): string => [s, ""].join("");
const same = (s: string): string => s;

function parsePairs(sc: Scanner, name: PairCommandName): Command {
  const text = sc.text;
  const own = text.length > COPY_ABOVE ? copy : same;
  const keys: string[] = [];
  const tokens: string[] = [];
  const values: string[] = [];
  sc.pos++;
  sc.skipSpace();
  if (sc.peek() === CLOSE_BRACE) {
    sc.pos++;
    return { name, keys, tokens, values };
  }
  for (;;) {
    const keyStart = sc.pos;
    sc.string();
    const keyEnd = sc.pos;
    keys.push(own(stringValue(text, keyStart, keyEnd, sc.escaped)));
    tokens.push(text.slice(keyStart, keyEnd));
    sc.colon();
    const valueStart = sc.pos;
    sc.value();
    values.push(
      own(sc.spaced ? compact(text, valueStart, sc.pos) : text.slice(valueStart, sc.pos)),
    );
    if (!sc.more(CLOSE_BRACE)) break;
  }
  if (keys.length > 1 && hasRepeats(keys)) dropRepeatedKeys(keys, tokens, values);
  return { name, keys, tokens, values };
}

/**
 * Whether a key occurs twice. Pairwise for the usual few keys: hashing
 * freshly sliced strings into a Map costs more than comparing them.
 */
function hasRepeats(keys: readonly string[]): boolean {
  const n = keys.length;
  if (n > 16) return new Set(keys).size !== n;
  for (let i = 1; i < n; i++) {
    const key = keys[i];
    for (let j = 0; j < i; j++) if (keys[j] === key) return true;
  }
  return false;
}

/** A member named twice counts once, in its first place, with its last value. */
function dropRepeatedKeys(keys: string[], tokens: string[], values: string[]): void {
  const firstIndex = new Map<string, number>();
  let kept = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const seen = firstIndex.get(key);
    if (seen !== undefined) {
      values[seen] = values[i] as string;
      continue;
    }
    firstIndex.set(key, kept);
    keys[kept] = key;
    tokens[kept] = tokens[i] as string;
    values[kept] = values[i] as string;
    kept++;
  }
  keys.length = kept;
  tokens.length = kept;
  values.length = kept;
}

function parseKeys(sc: Scanner, name: KeyCommandName): Command {
  const text = sc.text;
  const keys: (string | null)[] = [];
  const tokens: string[] = [];
  sc.pos++;
  sc.skipSpace();
  if (sc.peek() === CLOSE_BRACKET) {
    sc.pos++;
    return { name, keys, tokens };
  }
  for (;;) {
    const start = sc.pos;
    if (sc.peek() === QUOTE) {
      sc.string();
      keys.push(stringValue(text, start, sc.pos, sc.escaped));
      tokens.push(text.slice(start, sc.pos));
    } else {
      sc.value();
      keys.push(null);
      tokens.push('""');
    }
    if (!sc.more(CLOSE_BRACKET)) break;
  }
  return { name, keys, tokens };
}

function messageError(st: MessageError["st"], m: string): MessageError {
  return { name: "KV_ERR", st, m };
}
