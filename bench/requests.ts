/**
 * What the load generator sends and what it accepts back: the operations,
 * the prebuilt requests of a run in either protocol version, and the
 * statuses each command may answer.
 */

export const OPERATIONS = ["set", "get", "get10", "add", "rmv", "append", "mixed"] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Protocol versions: 1 (one frame per key), 2 (`kvfleet.v2`: ids, one answer per request). */
export const PROTOCOLS = ["1", "2"] as const;
export type Protocol = 1 | 2;

/** The WebSocket subprotocol a client offers to speak version 2 (src/server/http.ts). */
export const SUBPROTOCOL_V2 = "kvfleet.v2";

/** Keys a `get10` request reads. */
const MULTI_GET_KEYS = 10;

/** Keys in each request of an operation: every request of a run has as many. */
export const keysPerRequest = (op: Operation): number => (op === "get10" ? MULTI_GET_KEYS : 1);

/** A single command: what `mixed` draws from and what `get10` is made of. */
type Command = Exclude<Operation, "mixed" | "get10">;

/** The share of each command in the `mixed` operation. */
export const MIXED: readonly [Command, number][] = [
  ["get", 0.7],
  ["set", 0.2],
  ["add", 0.04],
  ["rmv", 0.03],
  ["append", 0.03],
];

/** The stored value: a JSON object of exactly `size` characters (at least 10). */
export function valueText(size: number): string {
  return `{"v":"${"x".repeat(Math.max(1, size - 9))}"}`;
}

/** An appended object whose member the stored value already has: the value stays the same size. */
const APPEND_VALUE = '{"v":"y"}';

const OP_CODES: Record<Command, number> = {
  get: 0,
  set: 1,
  add: 2,
  rmv: 3,
  append: 4,
};
const RSP_NAMES = ["KV_GET_RSP", "KV_SET_RSP", "KV_ADD_RSP", "KV_RMV_RSP", "KV_APPEND_RSP"];
const RSP_PREFIX = RSP_NAMES.map((name) => `{"${name}":`);
const STATUS_SLOTS = 128;

/**
 * Statuses each command may answer in a run. A lone `get` runs on a filled
 * key space, so only 1 (found) passes; in `mixed`, removes make 22 valid.
 * A table, not a set: it is read once per answer.
 */
function allowedStatuses(op: Operation): Uint8Array {
  const allowed = new Uint8Array(5 * STATUS_SLOTS);
  const allow = (code: number, ...sts: number[]) => {
    for (const st of sts) allowed[code * STATUS_SLOTS + st] = 1;
  };
  allow(OP_CODES.get, ...(op === "mixed" ? [1, 22] : [1]));
  allow(OP_CODES.set, 20, 21);
  allow(OP_CODES.add, 20, 23);
  allow(OP_CODES.rmv, 22, 24);
  allow(OP_CODES.append, 1, 22);
  return allowed;
}

/** A small seeded PRNG (mulberry32), so every run sends the same requests. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Requests {
  /** With protocol 2, text i carries the id i % window: the in-flight slot that sends it. */
  texts: string[];
  /** The command of each text, for responseCheck. */
  codes: Uint8Array;
  keysPerRequest: number;
}

export interface RequestOptions {
  /** Seed of the request order. */
  seed?: number;
  protocol?: Protocol;
  /** In-flight slots per connection: with protocol 2, the ids are 0 .. window - 1. */
  window?: number;
}

/**
 * The prebuilt requests of a run: random keys (distinct within a `get10`
 * request), and for `mixed` commands drawn by MIXED. Their count is a
 * multiple of `window`; with protocol 2 each carries its slot as `id`, so
 * every request is built before the run and an answer is matched to its
 * slot by a prefix.
 */
export function buildRequests(
  op: Operation,
  keys: number,
  valueSize: number,
  { seed = 1, protocol = 1, window = 1 }: RequestOptions = {},
): Requests {
  const n = Math.ceil(Math.min(Math.max(keys, 4096), 1 << 18) / window) * window;
  const rand = random(seed);
  const value = valueText(valueSize);
  const texts = new Array<string>(n);
  const codes = new Uint8Array(n);
  const perRequest = keysPerRequest(op);
  const drawKey = () => `"key:${Math.floor(rand() * keys)}"`;
  for (let i = 0; i < n; i++) {
    const key = drawKey();
    let command: Command = op === "mixed" || op === "get10" ? "get" : op;
    if (op === "mixed") {
      let r = rand();
      for (const [name, share] of MIXED) {
        command = name;
        r -= share;
        if (r < 0) break;
      }
    }
    codes[i] = OP_CODES[command];
    let body: string;
    switch (command) {
      case "get": {
        const drawn = [key];
        while (drawn.length < perRequest) {
          const another = drawKey();
          if (keys < perRequest || !drawn.includes(another)) drawn.push(another);
        }
        body = `"KV_GET":[${drawn.join(",")}]`;
        break;
      }
      case "set":
        body = `"KV_SET":{${key}:${value}}`;
        break;
      case "add":
        body = `"KV_ADD":{${key}:${value}}`;
        break;
      case "rmv":
        body = `"KV_RMV":[${key}]`;
        break;
      case "append":
        body = `"KV_APPEND":{${key}:${APPEND_VALUE}}`;
        break;
    }
    texts[i] = protocol === 2 ? `{"id":${i % window},${body}}` : `{${body}}`;
  }
  return { texts, codes, keysPerRequest: perRequest };
}

const FOUND_END = ',"st":1}}';

/** The status of a single-key response, or -1 when it has none. */
function responseStatus(text: string): number {
  if (text.endsWith(FOUND_END)) return 1;
  let i = text.indexOf('"st":');
  if (i < 0) return -1;
  i += 5;
  let st = 0;
  let digits = 0;
  for (let d = text.charCodeAt(i) - 48; d >= 0 && d <= 9; d = text.charCodeAt(++i) - 48) {
    st = st * 10 + d;
    digits++;
  }
  return digits === 0 ? -1 : st;
}

/**
 * Whether a frame is one a request of command `code`, sent from in-flight
 * slot `slot`, may get in a run of `op`.
 */
export type ResponseCheck = (code: number, slot: number, text: string) => boolean;

/**
 * The check of one frame. Version 1: the command's response with an allowed
 * status (a request of k keys gets k such frames; the slot is not in them).
 * Version 2: the request's one answer, `{"id":<slot>,"<CMD>_RSP":[...]}`
 * with exactly keysPerRequest(op) elements, each with an allowed status.
 */
export function responseCheck(op: Operation, protocol: Protocol = 1, window = 1): ResponseCheck {
  const allowed = allowedStatuses(op);
  if (protocol === 1) {
    return (code, _slot, text) => {
      const st = responseStatus(text);
      return (
        st >= 0 &&
        st < STATUS_SLOTS &&
        allowed[code * STATUS_SLOTS + st] === 1 &&
        text.startsWith(RSP_PREFIX[code] as string)
      );
    };
  }
  const elements = keysPerRequest(op);
  // The answer's start for each command and slot: its id and its `_RSP` member.
  const prefixes: string[] = [];
  for (const name of RSP_NAMES)
    for (let slot = 0; slot < window; slot++) prefixes.push(`{"id":${slot},"${name}":[`);
  return (code, slot, text) => {
    const prefix = prefixes[code * window + slot] as string;
    if (!text.startsWith(prefix) || !text.endsWith("]}")) return false;
    // Our keys and values hold no `"st":`, so each one is an element's status.
    let found = 0;
    let i = text.indexOf('"st":', prefix.length);
    while (i >= 0) {
      i += 5;
      let st = 0;
      let digits = 0;
      for (let d = text.charCodeAt(i) - 48; d >= 0 && d <= 9; d = text.charCodeAt(++i) - 48) {
        st = st * 10 + d;
        digits++;
      }
      if (digits === 0 || st >= STATUS_SLOTS || allowed[code * STATUS_SLOTS + st] !== 1)
        return false;
      found++;
      i = text.indexOf('"st":', i);
    }
    return found === elements;
  };
}
