import type { BodyTypeError, Command, QueryCommandName } from "./commands.ts";
import { wholeNumber } from "./numbers.ts";

/** The most keys one KV_KEYS page may ask for, and the default. */
export const KEYS_LIMIT = { max: 1000, default: 100 } as const;

type Query = (body: Record<string, unknown>) => Command | BodyTypeError;

const refuse = (command: QueryCommandName, m: string): BodyTypeError => ({
  name: "BODY_TYPE",
  command,
  m,
});

/** Reads each member of `body` with its reader; a member without one is refused, naming it. */
function members(
  command: QueryCommandName,
  body: Record<string, unknown>,
  readers: Record<string, (value: unknown) => string | undefined>,
): BodyTypeError | undefined {
  for (const [member, value] of Object.entries(body)) {
    const read = Object.hasOwn(readers, member) ? readers[member] : undefined;
    if (read === undefined) return refuse(command, `unknown member ${JSON.stringify(member)}`);
    const wrong = read(value);
    if (wrong !== undefined) return refuse(command, wrong);
  }
  return undefined;
}

const isStrings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === "string");

/** How each version 2 command with named members reads its body. */
export const QUERIES: Record<QueryCommandName, Query> = {
  /** `{"prefix":"...","limit":N,"cursor":"..."}`, every member optional; a null cursor is an absent one. */
  KV_KEYS(body) {
    let prefix = "";
    let limit: number = KEYS_LIMIT.default;
    let cursor: string | undefined;
    const wrong = members("KV_KEYS", body, {
      prefix: (v) => {
        if (typeof v !== "string") return "prefix must be a string";
        prefix = v;
      },
      limit: (v) => {
        const n = typeof v === "number" ? wholeNumber(v, 1, KEYS_LIMIT.max) : undefined;
        if (n === undefined) return `limit must be an integer from 1 to ${KEYS_LIMIT.max}`;
        limit = n;
      },
      cursor: (v) => {
        if (v !== null && typeof v !== "string") {
          return "cursor must be a string from a previous KV_KEYS_RSP";
        }
        cursor = v ?? undefined;
      },
    });
    if (wrong !== undefined) return wrong;
    const query = cursor === undefined ? { prefix, limit } : { prefix, limit, cursor };
    return { name: "KV_KEYS", query };
  },

  /** `{"keys":[...],"prefixes":[...]}`: either may be absent, not both empty. */
  KV_WATCH(body) {
    let keys: string[] = [];
    let prefixes: string[] = [];
    const wrong = members("KV_WATCH", body, {
      keys: (v) => {
        if (!isStrings(v)) return "keys must be an array of strings";
        keys = v;
      },
      prefixes: (v) => {
        if (!isStrings(v)) return "prefixes must be an array of strings";
        prefixes = v;
      },
    });
    if (wrong !== undefined) return wrong;
    if (keys.length === 0 && prefixes.length === 0) {
      return refuse("KV_WATCH", "keys and prefixes are both empty: nothing to watch");
    }
    return { name: "KV_WATCH", keys, prefixes };
  },

  /** `{"w":n}`: a watch of this connection. */
  KV_UNWATCH(body) {
    let w = 0;
    const wrong = members("KV_UNWATCH", body, {
      w: (v) => {
        const n = typeof v === "number" ? wholeNumber(v, 1, Number.MAX_SAFE_INTEGER) : undefined;
        if (n === undefined) return "w must be a positive integer from a KV_WATCH_RSP";
        w = n;
      },
    });
    if (wrong !== undefined) return wrong;
    if (w === 0) return refuse("KV_UNWATCH", "w is missing");
    return { name: "KV_UNWATCH", w };
  },
};
