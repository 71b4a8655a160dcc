import { compact, type Scanner, stringValue } from "../json/scanner.ts";
import {
  type BodyTypeError,
  type Command,
  type CommandName,
  type KeyCommandName,
  messageError,
  type PairCommandName,
  type Parsed,
  type QueryCommandName,
  SHAPES,
  type Version,
} from "./commands.ts";
import { QUERIES } from "./queries.ts";
import { Status } from "./status.ts";

/**
 * The parts both protocol versions parse alike: a command's name and its
 * body. Each works on a scanner positioned at the token, and advances past it.
 */

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;

// The most frequent first.
const namesOf = (version: Version): readonly string[] => [
  "KV_GET",
  "KV_SET",
  ...[...SHAPES[version].keys()].filter((n) => n !== "KV_GET" && n !== "KV_SET"),
];
const NAMES = { 1: namesOf(1), 2: namesOf(2) } as const;

/**
 * A member name, decoded. The common case, one of the commands written
 * without escapes, costs no slicing and hashing of a fresh string.
 */
export function readName(sc: Scanner, version: Version): string {
  const text = sc.text;
  const start = sc.pos + 1;
  if (text.charCodeAt(sc.pos) === QUOTE) {
    for (const name of NAMES[version]) {
      if (text.charCodeAt(start + name.length) === QUOTE && text.startsWith(name, start)) {
        sc.pos = start + name.length + 1;
        return name;
      }
    }
  }
  const from = sc.pos;
  sc.string();
  return stringValue(text, from, sc.pos, sc.escaped);
}

export function expectEnd(sc: Scanner): void {
  sc.skipSpace();
  if (!sc.atEnd()) sc.fail("unexpected text after the JSON value");
}

/** The body of the command `name`: 10 when the version has no such command, 12 for the wrong type. */
export function parseNamedBody(sc: Scanner, name: string, version: Version): Parsed {
  const shape = SHAPES[version].get(name);
  const open = sc.peek();
  if (shape === undefined) {
    sc.value();
    return messageError(Status.CommandNotExist, name);
  }
  const command = name as CommandName;
  const wanted = shape === "keys" ? OPEN_BRACKET : OPEN_BRACE;
  if (open !== wanted) {
    sc.value();
    return bodyTypeError(
      command,
      `${command} body must be ${wanted === OPEN_BRACKET ? "an array" : "an object"}`,
    );
  }
  switch (shape) {
    case "whole":
      sc.value();
      return { name: command as "KV_COUNT" };
    case "pairs":
      return parsePairs(sc, command as PairCommandName);
    case "keys":
      return parseKeys(sc, command as KeyCommandName);
    case "query":
      return parseQuery(sc, command as QueryCommandName);
  }
}

export function bodyTypeError(command: CommandName, m: string): BodyTypeError {
  return { name: "BODY_TYPE", command, m };
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

/**
 * The bodies of KV_KEYS, KV_WATCH and KV_UNWATCH: objects of named, typed
 * members. They are small and hold no stored value, so JSON.parse reads
 * them; a repeated member counts with its last value, as JSON.parse keeps it.
 */
function parseQuery(sc: Scanner, name: QueryCommandName): Command | BodyTypeError {
  const start = sc.pos;
  sc.value();
  const body = JSON.parse(sc.text.slice(start, sc.pos)) as Record<string, unknown>;
  return QUERIES[name](body);
}
