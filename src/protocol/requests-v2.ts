import { JsonSyntaxError, Scanner, stringValue } from "../json/scanner.ts";
import { expectEnd, parseNamedBody, readName } from "./bodies.ts";
import { type Command, TTL_COMMANDS } from "./commands.ts";
import { MAX_TTL, wholeNumberText } from "./numbers.ts";
import { Status } from "./status.ts";

/**
 * A request of protocol version 2: one command member, optionally `id` and
 * the command's options (`ttl`), in any order. `id` is the id's JSON token as
 * written, echoed into the answer without encoding it again; undefined when
 * the request had none or it could not be read.
 */
export type Request =
  | { readonly ok: true; readonly id: string | undefined; readonly command: Command }
  | {
      readonly ok: false;
      readonly id: string | undefined;
      readonly st: Status;
      readonly m: string;
    };

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const COMMA = 0x2c;

const ID_MAX_CHARS = 64;
const ID_RULE = "id must be a string of 1 to 64 characters or an integer from 0 to 2^53-1";
const TTL_RULE = `ttl must be an integer from 1 to ${MAX_TTL} (ms)`;

const scanner = new Scanner("");

/**
 * Parses one text frame. Which error wins follows the spec: JSON syntax,
 * then `id`, the member count, the command name, the body type, the options.
 */
export function parseRequest(text: string): Request {
  const sc = scanner.reset(text);
  try {
    return parseMembers(sc);
  } catch (error) {
    if (error instanceof JsonSyntaxError)
      return failed(undefined, Status.JsonInvalid, error.message);
    throw error;
  }
}

function parseMembers(sc: Scanner): Request {
  sc.skipSpace();
  if (sc.peek() !== OPEN_BRACE) {
    sc.value();
    expectEnd(sc);
    return failed(undefined, Status.JsonInvalid, "request is not a JSON object");
  }
  sc.pos++;
  let id = leadingId(sc);
  sc.skipSpace();
  let idError = "";
  /** Members that are neither `id` nor `ttl`: the first one's body is parsed. */
  let commands = 0;
  let name = "";
  let body: ReturnType<typeof parseNamedBody> | undefined;
  let ttls = 0;
  let ttlText = "";
  if (sc.peek() !== CLOSE_BRACE) {
    do {
      const member = memberName(sc);
      sc.colon();
      const start = sc.pos;
      if (member === "id") {
        sc.value();
        if (id !== undefined || idError !== "") idError = "id appears twice in the request";
        else if (!validId(sc, start)) idError = ID_RULE;
        else id = sc.text.slice(start, sc.pos);
      } else if (member === "ttl") {
        sc.value();
        ttls++;
        ttlText = sc.text.slice(start, sc.pos);
      } else if (commands++ === 0) {
        name = member;
        body = parseNamedBody(sc, member, 2);
      } else {
        sc.value();
      }
    } while (sc.more(CLOSE_BRACE));
  } else {
    sc.pos++;
  }
  expectEnd(sc);
  if (idError !== "") return failed(undefined, Status.JsonInvalid, idError);
  if (commands === 0) {
    if (ttls === 0) return failed(id, Status.CommandNotExist, "");
    // `ttl` alone is the request's one member, so it names the command.
    return ttls === 1
      ? failed(id, Status.CommandNotExist, "ttl")
      : failed(id, Status.CommandMultiple, "");
  }
  // An option the command does not take counts as a second command, as does a repeated one.
  if (commands > 1 || ttls > 1 || (ttls === 1 && !TTL_COMMANDS.has(name))) {
    return failed(id, Status.CommandMultiple, "");
  }
  const parsed = body as ReturnType<typeof parseNamedBody>;
  switch (parsed.name) {
    case "KV_ERR":
      return failed(id, parsed.st, parsed.m);
    case "BODY_TYPE":
      return failed(id, Status.CommandType, parsed.m);
  }
  if (ttls === 1) {
    const ttl = wholeNumberText(ttlText, 1, MAX_TTL);
    if (ttl === undefined) return failed(id, Status.CommandType, TTL_RULE);
    (parsed as { ttl?: number }).ttl = ttl;
  }
  return { ok: true, id, command: parsed };
}

/** `id` and `ttl` unescaped, the members every request may have, without slicing a string. */
function memberName(sc: Scanner): string {
  const text = sc.text;
  const at = sc.pos;
  if (text.charCodeAt(at) === QUOTE) {
    if (text.charCodeAt(at + 3) === QUOTE && text.startsWith("id", at + 1)) {
      sc.pos = at + 4;
      return "id";
    }
    if (text.charCodeAt(at + 4) === QUOTE && text.startsWith("ttl", at + 1)) {
      sc.pos = at + 5;
      return "ttl";
    }
  }
  return readName(sc, 2);
}

/**
 * `"id":<integer>,"` right after the opening brace, the shape clients send,
 * read by one loop over its digits rather than the general value scan and
 * `validId`; undefined, with nothing read, for anything else (a string id,
 * spaces, a 16-digit id, which needs the range check), which the member loop
 * then reads as any other member.
 */
function leadingId(sc: Scanner): string | undefined {
  const text = sc.text;
  const start = sc.pos + 5;
  if (!text.startsWith('"id":', sc.pos)) return undefined;
  let end = start;
  for (let c = text.charCodeAt(end); c >= 0x30 && c <= 0x39; c = text.charCodeAt(++end));
  const digits = end - start;
  if (digits === 0 || digits > 15 || (digits > 1 && text.charCodeAt(start) === 0x30))
    return undefined;
  if (text.charCodeAt(end) !== COMMA || text.charCodeAt(end + 1) !== QUOTE) return undefined;
  sc.pos = end + 1;
  return text.slice(start, end);
}

/** Whether the value just scanned, from `start`, is an id the protocol allows. */
function validId(sc: Scanner, start: number): boolean {
  const text = sc.text;
  const end = sc.pos;
  if (text.charCodeAt(start) !== QUOTE) {
    // Digits only, no leading zero, at most 2^53 - 1: an integer that echoes as itself.
    const digits = end - start;
    if (digits > 16 || (digits > 1 && text.charCodeAt(start) === 0x30)) return false;
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return false;
    }
    return digits < 16 || Number(text.slice(start, end)) <= Number.MAX_SAFE_INTEGER;
  }

  const value = sc.escaped
    ? stringValue(text, start, sc.pos, true)
    : text.slice(start + 1, sc.pos - 1);
  if (value.length === 0 || value.length > 2 * ID_MAX_CHARS) return false;
  let chars = 0;
  for (const _ of value) chars++;
  return chars <= ID_MAX_CHARS;
}

function failed(id: string | undefined, st: Status, m: string): Request {
  return { ok: false, id, st, m };
}
