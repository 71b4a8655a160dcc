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
function protocolKey(stored: string): string | undefined {
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
 * with nothing left to match scans once, unfiltered, for both forms.
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
  return [
    {
      match: `${literal(cut)}*`,
      accept: (s) => (s.charCodeAt(0) !== 0 && s.startsWith(prefix) ? s : undefined),
    },
    escaped,
  ];
}

const startingWith = (key: string | undefined, prefix: string) =>
  key?.startsWith(prefix) ? key : undefined;
