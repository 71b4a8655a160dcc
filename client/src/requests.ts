import { KvfleetError } from "./errors.ts";
import { plainJson, writeJson } from "./json-write.ts";
import type { Frame, Session } from "./session.ts";
import type { JsonValue } from "./values.ts";

/** One key of a per-key request: the key, and its text in the body (`"k"` or `"k":value`). */
export interface Item {
  key: string;
  text: string;
}

/** One element of a per-key answer, as protocol 2 gives it. */
export interface Element {
  k?: string;
  st: number;
  v?: JsonValue;
  ttl?: number | null;
}

/** A key of an array body (KV_GET, KV_RMV, ...), checked to be a string. */
export function keyItem(key: unknown, name = "key"): Item {
  return { key: checkKey(key, name), text: JSON.stringify(key) };
}

/** A member of an object body (KV_SET, KV_APPEND, ...); the value's writing errors name the key. */
export function memberItem(key: unknown, value: unknown): Item {
  const name = JSON.stringify(checkKey(key, "key"));
  // The fast path first: the message naming the key is only for the exact writer's errors.
  const text = plainJson(value) ?? writeJson(value, `the value of ${name}`);
  return { key: key as string, text: `${name}:${text}` };
}

export function checkKey(key: unknown, name: string): string {
  if (typeof key !== "string") throw new TypeError(`${name} must be a string, not ${typeof key}`);
  return key;
}

/** The `ttl` option as request text ("" without one). */
export function ttlOption(options: { ttl?: number }): string {
  if (options.ttl === undefined) return "";
  if (!Number.isSafeInteger(options.ttl) || options.ttl < 1) {
    throw new TypeError(`ttl must be a whole number of milliseconds from 1, not ${options.ttl}`);
  }
  return `,"ttl":${options.ttl}`;
}

/** What a connection of protocol 1 cannot do. */
export function needsV2(what: string): KvfleetError {
  return new KvfleetError(
    10,
    `${what} needs protocol 2; this client was connected with protocol: 1`,
  );
}

/**
 * Sends a per-key command and answers one element per item, in order: one
 * request on protocol 2 (no request for no items: protocol 1 would not
 * answer it). Not an async function: it runs for every call, and a
 * `.then` costs less than another async frame.
 */
export function perKey(
  session: Session,
  command: string,
  body: "[]" | "{}",
  items: Item[],
  options = "",
): Promise<Element[]> {
  if (items.length === 0) return Promise.resolve([]);
  if (session.protocol === 1) return perKeyV1(session, command, body, items, options);
  const texts =
    items.length === 1 ? (items[0] as Item).text : items.map((item) => item.text).join(",");
  return session
    .request(command, `${body[0]}${texts}${body[1]}`, options)
    .then((frame) => elementsOf(command, frame, items.length));
}

/** The `count` elements of a protocol 2 per-key answer, or the error of an answer without them. */
export function elementsOf(command: string, frame: Frame, count: number): Element[] {
  const elements = frame[answerName(command)];
  if (!Array.isArray(elements) || elements.length !== count) throw unexpected(command, frame);
  return elements as unknown as Element[];
}

/** Protocol 1: a request per item (it answers a frame per key), each answer made an element. */
async function perKeyV1(
  session: Session,
  command: string,
  body: "[]" | "{}",
  items: Item[],
  options: string,
): Promise<Element[]> {
  if (options !== "") throw needsV2("ttl");
  const frames = await Promise.all(
    items.map((item) => session.request(command, `${body[0]}${item.text}${body[1]}`)),
  );
  return frames.map((frame, i) => v1Element(command, (items[i] as Item).key, frame));
}

/** A protocol 1 answer as an element: `{"KV_GET_RSP":{"<key>":value,"st":1}}` has its value beside `st`. */
function v1Element(command: string, key: string, frame: Frame): Element {
  const rsp = frame[answerName(command)] as { [name: string]: JsonValue } | undefined;
  if (typeof rsp?.st !== "number") throw unexpected(command, frame);
  const element: Element = { k: key, st: rsp.st };
  if (command === "KV_GET" && rsp.st === 1) element.v = rsp[key] as JsonValue;
  return element;
}

/** The meaning of an element's status, or the error it stands for. */
export function pick<T>(
  command: string,
  element: Element | undefined,
  meanings: Record<number, T>,
): T {
  const status = element?.st;
  if (typeof status === "number" && status in meanings) return meanings[status] as T;
  throw KvfleetError.answered(command, typeof status === "number" ? status : 0, "", element?.k);
}

/** The `cnt` of a whole-store answer (KV_COUNT, KV_CLEAR). */
export function whole(command: string, frame: Frame): number {
  const rsp = frame[answerName(command)] as { st?: unknown; cnt?: unknown } | undefined;
  if (typeof rsp?.st === "number" && rsp.st !== 1) throw KvfleetError.answered(command, rsp.st, "");
  if (typeof rsp?.cnt !== "number") throw unexpected(command, frame);
  return rsp.cnt;
}

const ANSWER_NAMES = new Map<string, string>();

/** `<command>_RSP`, made once per command: a name made per call costs a lookup by a new string. */
function answerName(command: string): string {
  let name = ANSWER_NAMES.get(command);
  if (name === undefined) {
    name = `${command}_RSP`;
    ANSWER_NAMES.set(command, name);
  }
  return name;
}

export function unexpected(command: string, frame: Frame): KvfleetError {
  return new KvfleetError(0, `${command}: unexpected answer ${JSON.stringify(Object.keys(frame))}`);
}
