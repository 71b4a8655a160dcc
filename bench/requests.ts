/**
 * What the load generator sends and what it accepts back: the operations,
 * the prebuilt requests of a run, and the statuses each command may answer.
 */

export const OPERATIONS = ["set", "get", "add", "rmv", "append", "mixed"] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The share of each command in the `mixed` operation. */
export const MIXED: readonly [Exclude<Operation, "mixed">, number][] = [
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

const OP_CODES: Record<Exclude<Operation, "mixed">, number> = {
  get: 0,
  set: 1,
  add: 2,
  rmv: 3,
  append: 4,
};
const RSP_PREFIX = [
  '{"KV_GET_RSP":',
  '{"KV_SET_RSP":',
  '{"KV_ADD_RSP":',
  '{"KV_RMV_RSP":',
  '{"KV_APPEND_RSP":',
];
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
function random(seed: number): () => number {
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
  texts: string[];
  /** The command of each text, for responseCheck. */
  codes: Uint8Array;
}

/** The prebuilt requests of a run: random keys, and for `mixed` commands drawn by MIXED. */
export function buildRequests(op: Operation, keys: number, valueSize: number, seed = 1): Requests {
  const n = Math.min(Math.max(keys, 4096), 1 << 18);
  const rand = random(seed);
  const value = valueText(valueSize);
  const texts = new Array<string>(n);
  const codes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const key = `"key:${Math.floor(rand() * keys)}"`;
    let command: Exclude<Operation, "mixed"> = op === "mixed" ? "get" : op;
    if (op === "mixed") {
      let r = rand();
      for (const [name, share] of MIXED) {
        command = name;
        r -= share;
        if (r < 0) break;
      }
    }
    codes[i] = OP_CODES[command];
    switch (command) {
      case "get":
        texts[i] = `{"KV_GET":[${key}]}`;
        break;
      case "set":
        texts[i] = `{"KV_SET":{${key}:${value}}}`;
        break;
      case "add":
        texts[i] = `{"KV_ADD":{${key}:${value}}}`;
        break;
      case "rmv":
        texts[i] = `{"KV_RMV":[${key}]}`;
        break;
      case "append":
        texts[i] = `{"KV_APPEND":{${key}:${APPEND_VALUE}}}`;
        break;
    }
  }
  return { texts, codes };
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

/** Whether an answer is one a request of command `code` may get in a run of `op`. */
export function responseCheck(op: Operation): (code: number, text: string) => boolean {
  const allowed = allowedStatuses(op);
  return (code, text) => {
    const st = responseStatus(text);
    return (
      st >= 0 &&
      st < STATUS_SLOTS &&
      allowed[code * STATUS_SLOTS + st] === 1 &&
      text.startsWith(RSP_PREFIX[code] as string)
    );
  };
}
