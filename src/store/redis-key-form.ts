/**
 * How protocol keys are stored in Redis, and the SCAN passes that find the
 * keys starting with a prefix in that form (used by `redis-keys.ts`).
 */

/**
 * The Redis key of a protocol key. Redis keys are bytes and ioredis writes
 * strings as UTF-8, which has no form for a lone surrogate: `"\ud800"` and
 * `"\udc00"` would both become U+FFFD and collide. Such keys, and keys that
 * start with NUL, are stored as NUL followed by their JSON text instead, a
 * form no key of the first kind can take.
 */
export function redisKey(key: string): string {
  return key.isWellFormed() && key.charCodeAt(0) !== 0 ? key : `\u0000${JSON.stringify(key)}`;
}

/** The Redis keys of a call's keys; the same array when no key needs another form. */
export function redisKeys(keys: readonly string[]): readonly string[] {
  let out: string[] | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const stored = redisKey(key);
    if (stored !== key) {
      out ??= keys.slice();
      out[i] = stored;
    }
  }
  return out ?? keys;
}

/** The protocol key a Redis key holds, or undefined for a key kvfleet did not write. */
export function protocolKey(stored: string): string | undefined {
  if (stored.charCodeAt(0) !== 0) return stored;
  try {
    const key: unknown = JSON.parse(stored.slice(1));
    return typeof key === "string" && redisKey(key) === stored ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One SCAN pass over a master: the MATCH pattern (none: every key) and
 * which of the Redis keys it returns belong to the listing, decoded.
 */
export interface Phase {
  readonly match: string | undefined;
  accept(stored: string): string | undefined;
}

/** A glob matching `text` literally: Redis's MATCH treats `*?[]` specially, `\` escapes. */
const literal = (text: string) => text.replace(/[*?[\]\\]/g, "\\$&");

/**
 * The passes that find every key starting with `prefix`, in each of the two
 * forms `redisKey` stores. A prefix ending in a high surrogate may be
 * completed by the key's next character (a pair, stored as UTF-8 or raw in
 * the JSON text), so the patterns use the prefix without it and the exact
 * test is `startsWith` on the decoded key. Plain keys are well-formed and do
 * not start with NUL: a prefix that is neither has no plain pass. A prefix
 * with nothing left to match scans once, unfiltered, for both forms, and so
 * does, with one pattern for both, a prefix JSON writes as it is.
 */
export function phases(prefix: string): Phase[] {
  const high = /[\ud800-\udbff]$/.test(prefix);
  const cut = high ? prefix.slice(0, -1) : prefix;
  const plain = cut.isWellFormed() && cut.charCodeAt(0) !== 0;
  if (plain && cut === "") {
    return [{ match: undefined, accept: (s) => startingWith(protocolKey(s), prefix) }];
  }
  const escaped: Phase = {
    match: `\u0000${literal(JSON.stringify(cut).slice(0, -1))}*`,
    accept: (s) => (s.charCodeAt(0) === 0 ? startingWith(protocolKey(s), prefix) : undefined),
  };
  if (!plain) return [escaped];
  const both = bothForms(cut);
  if (both !== undefined) {
    return [{ match: both, accept: (s) => startingWith(protocolKey(s), prefix) }];
  }
  return [
    {
      match: `${literal(cut)}*`,
      accept: (s) => (s.charCodeAt(0) !== 0 && s.startsWith(prefix) ? s : undefined),
    },
    escaped,
  ];
}

/**
 * One MATCH pattern for both forms of the keys starting with `cut`, or
 * undefined: the plain form starts `c0 c1 rest`, the escaped one
 * `NUL " c0 c1 rest` when JSON escapes nothing in `cut`, so
 * `[c0 NUL][c1 "]*rest*` finds both (and a few keys that merely hold `rest`
 * further on, which `accept` drops), in one walk of the keyspace instead of
 * two. The classes match one byte each: only for ASCII c0 and c1.
 */
function bothForms(cut: string): string | undefined {
  const ascii = (c: string | undefined) => c !== undefined && c >= " " && c <= "~";
  if (JSON.stringify(cut) !== `"${cut}"` || !ascii(cut[0])) return undefined;
  const first = `[\\${cut[0]}\\\u0000]`;
  if (cut.length === 1) return `${first}*`;
  if (!ascii(cut[1])) return undefined;
  const rest = cut.length > 2 ? `${literal(cut.slice(2))}*` : "";
  return `${first}[\\${cut[1]}\\"]*${rest}`;
}

const startingWith = (key: string | undefined, prefix: string) =>
  key?.startsWith(prefix) ? key : undefined;
