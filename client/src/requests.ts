import { KvfleetError } from "./errors.ts";
import { writeJson } from "./json-write.ts";
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
  return { key: key as string, text: `${name}:${writeJson(value, `the value of ${name}`)}` };
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
 * Sends a per-key command and answers one element per item, in order. On
 * protocol 2 that is one request; on protocol 1, which answers a frame per
 * key (and nothing to an empty body), one request per item, each answer
 * turned into the element protocol 2 would give.
 */
export async function perKey(
  session: Session,
  command: string,
  body: "[]" | "{}",
  items: Item[],
  options = "",
): Promise<Element[]> {
  if (items.length === 0) return [];
  const wrap = (texts: string) => `${body[0]}${texts}${body[1]}`;
  if (session.protocol === 1) {
    if (options !== "") throw needsV2("ttl");
    const frames = await Promise.all(
      items.map((item) => session.request(command, wrap(item.text))),
    );
    return frames.map((frame, i) => v1Element(command, (items[i] as Item).key, frame));
  }
  const frame = await session.request(
    command,
    wrap(items.map((item) => item.text).join(",")),
    options,
  );
  const elements = frame[`${command}_RSP`];
  if (!Array.isArray(elements) || elements.length !== items.length)
    throw unexpected(command, frame);
  return elements as unknown as Element[];
}

/** A protocol 1 answer as an element: `{"KV_GET_RSP":{"<key>":value,"st":1}}` has its value beside `st`. */
function v1Element(command: string, key: string, frame: Frame): Element {
  const rsp = frame[`${command}_RSP`] as { [name: string]: JsonValue } | undefined;
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
  const rsp = frame[`${command}_RSP`] as { st?: unknown; cnt?: unknown } | undefined;
  if (typeof rsp?.st === "number" && rsp.st !== 1) throw KvfleetError.answered(command, rsp.st, "");
  if (typeof rsp?.cnt !== "number") throw unexpected(command, frame);
  return rsp.cnt;
}

export function unexpected(command: string, frame: Frame): KvfleetError {
  return new KvfleetError(0, `${command}: unexpected answer ${JSON.stringify(Object.keys(frame))}`);
}
