import { decodeCursor, encodeCursor } from "./cursor.ts";
import type { SortedKeys } from "./sorted-keys.ts";
import type { KeysPage, KeysQuery } from "./store.ts";

/**
 * One KV_KEYS page of the memory store, read from its sorted index.
 *
 * The cursor holds the last key the page looked at; the next page starts at
 * the first key after it (see `sorted-keys.ts` for why that misses no key
 * present throughout). A page looks at no more than {@link examineCap} keys,
 * so a stretch of expired keys not yet reclaimed gives a short page with a
 * cursor rather than an unbounded walk.
 */

/** The cursor kind of the memory store (see `cursor.ts`). */
export const CURSOR_KIND = "memory";

/** The most keys one page looks at, expired ones included: at most 10,000 (limit 1000). */
export const examineCap = (limit: number): number => 10 * limit;

interface CursorState {
  /** The last key the previous page looked at. */
  after: string;
}

function readCursor(text: string): CursorState | undefined {
  const state = decodeCursor(CURSOR_KIND, text);
  if (typeof state !== "object" || state === null) return undefined;
  const after = (state as { after?: unknown }).after;
  return typeof after === "string" ? { after } : undefined;
}

export interface Listed {
  readonly page: KeysPage;
  /** Expired keys the page passed over, for the store to reclaim once the walk is over. */
  readonly expired: string[];
}

/**
 * The page `query` asks for; null for a cursor the memory store did not
 * make. `expired(key)` says which keys to leave out (undefined: none).
 */
export function listPage(
  index: SortedKeys,
  query: KeysQuery,
  expired: ((key: string) => boolean) | undefined,
): Listed | null {
  const { prefix, limit } = query;
  let start = prefix;
  let inclusive = true;
  if (query.cursor !== undefined) {
    const state = readCursor(query.cursor);
    if (state === undefined) return null;
    // Resume after the cursor's key, or at the prefix if that comes later
    // (a cursor's key past the prefix's range ends the listing at once).
    if (state.after >= prefix) {
      start = state.after;
      inclusive = false;
    }
  }
  const keys: string[] = [];
  const passed: string[] = [];
  const cap = examineCap(limit);
  let examined = 0;
  let last = "";
  let more = false;
  index.scan(start, inclusive, (key) => {
    // Keys with the prefix are contiguous from the first one >= it: the first that lacks it ends them.
    if (!key.startsWith(prefix)) return false;
    // Another matching key exists: the page is full or has looked at enough, and a cursor follows.
    if (keys.length === limit || examined === cap) {
      more = true;
      return false;
    }
    examined++;
    last = key;
    if (expired?.(key)) passed.push(key);
    else keys.push(key);
    return true;
  });
  return {
    page: { keys, cursor: more ? encodeCursor(CURSOR_KIND, { after: last }) : null },
    expired: passed,
  };
}
