import type { JsonValue, Kvfleet } from "kvfleet-client";
import { integerFlag, type Parsed, UsageError, wholeNumber } from "./args.ts";
import { type Command, Exit, type Invocation, type Job } from "./command.ts";
import { readValue } from "./input.ts";
import type { Printer } from "./output.ts";
import { watch } from "./watch.ts";

/** The longest ttl and KV_EXPIRE the protocol accepts, in ms: checked here to exit 2 early. */
const TEN_YEARS = 315_360_000_000;

/** `text` for one key, `key<TAB>text` when a command got several, so lines say whose they are. */
const label = (keys: readonly string[], key: string, text: string): string =>
  keys.length > 1 ? `${key}\t${text}` : text;

/** How a key's result prints: its words, its --json fields, and whether it counts as done. */
type Shown = { done: boolean; text: string; fields: object };

/** Runs `one` on every key at once and prints its line; exit 1 when any key was not done. */
const perKey =
  <T>(
    keys: readonly string[],
    one: (db: Kvfleet, key: string) => Promise<T>,
    show: (result: T) => Shown,
  ): Job =>
  async ({ db, out }) => {
    const results = await Promise.all(keys.map((key) => one(db, key)));
    let code: number = Exit.ok;
    results.forEach((result, i) => {
      const key = keys[i] as string;
      const { done, text, fields } = show(result);
      out.result(label(keys, key, text), { key, ...fields });
      if (!done) code = Exit.notDone;
    });
    return code;
  };

const ttlOption = (parsed: Parsed): { ttl?: number } => {
  const ttl = integerFlag(parsed, "ttl", 1, TEN_YEARS);
  return ttl === undefined ? {} : { ttl };
};

/**
 * set, add and append: KEY, VALUE (an argument or stdin) and --ttl where the command takes it
 * (`checkUsage` refuses it elsewhere), read now; one answer, printed as `perKey` prints.
 */
async function writeJob<T>(
  { words, parsed, stdin }: Invocation,
  send: (db: Kvfleet, key: string, value: JsonValue, options: { ttl?: number }) => Promise<T>,
  show: (result: T) => Shown,
): Promise<Job> {
  const key = words[0] as string;
  const options = ttlOption(parsed);
  const value = await readValue(words[1], stdin);
  return perKey([key], (db) => send(db, key, value, options), show);
}

/** A key that is not there, for `get` and `ttl`: no data, so a note in text mode. */
function notFound(out: Printer, key: string): number {
  out.absent(`${JSON.stringify(key)} not found`, { key, found: false });
  return Exit.notDone;
}

export const COMMANDS: readonly Command[] = [
  {
    name: "get",
    params: ["KEY..."],
    doc: "Prints each value as JSON (KEY<TAB>VALUE for several keys). Exit 1 when a key is missing.",
    flags: [],
    prepare:
      ({ words: keys }) =>
      async ({ db, out }) => {
        const found = await db.getMany(keys);
        let code: number = Exit.ok;
        for (const key of keys) {
          const value = found.get(key);
          if (value === undefined) code = notFound(out, key);
          else out.result(label(keys, key, out.value(value)), { key, found: true, value });
        }
        return code;
      },
  },
  {
    name: "set",
    params: ["KEY", "[VALUE]"],
    doc: "Stores VALUE (JSON; from stdin when absent or -). Prints created or updated.",
    flags: ["ttl"],
    prepare: (invocation) =>
      writeJob(
        invocation,
        (db, key, value, options) => db.set(key, value, options),
        (result) => ({ done: true, text: result, fields: { result } }),
      ),
  },
  {
    name: "add",
    params: ["KEY", "[VALUE]"],
    doc: "Stores VALUE only if KEY does not exist. Prints added, or exists with exit 1.",
    flags: ["ttl"],
    prepare: (invocation) =>
      writeJob(
        invocation,
        (db, key, value, options) => db.add(key, value, options),
        (added) => ({ done: added, text: added ? "added" : "exists", fields: { added } }),
      ),
  },
  {
    name: "rm",
    params: ["KEY..."],
    doc: "Removes the keys. Prints removed or not found for each; exit 1 when one was not found.",
    flags: [],
    prepare: ({ words }) =>
      perKey(
        words,
        (db, key) => db.remove(key),
        (removed) => ({
          done: removed,
          text: removed ? "removed" : "not found",
          fields: { removed },
        }),
      ),
  },
  {
    name: "has",
    params: ["KEY..."],
    doc: "Prints yes or no for each key; exit 1 when one does not exist.",
    flags: [],
    prepare: ({ words }) =>
      perKey(
        words,
        (db, key) => db.has(key),
        (exists) => ({ done: exists, text: exists ? "yes" : "no", fields: { exists } }),
      ),
  },
  {
    name: "append",
    params: ["KEY", "[VALUE]"],
    doc: "Appends VALUE to the array or object at KEY. Prints ok; missing or type-mismatch with exit 1.",
    flags: [],
    prepare: (invocation) =>
      writeJob(
        invocation,
        (db, key, value) => db.append(key, value),
        (result) => ({ done: result === "ok", text: result, fields: { result } }),
      ),
  },
  {
    name: "count",
    params: [],
    doc: "Prints the number of keys in the store.",
    flags: [],
    prepare:
      () =>
      async ({ db, out }) => {
        const count = await db.count();
        out.result(String(count), { count });
        return Exit.ok;
      },
  },
  {
    name: "clear",
    params: [],
    doc: "Removes every key; refused (exit 2) without --yes. Prints how many keys it removed.",
    flags: ["yes"],
    prepare({ parsed }) {
      if (parsed.flags.yes === undefined) {
        throw new UsageError("clear removes every key of the store: confirm with --yes");
      }
      return async ({ db, out }) => {
        const removed = await db.clear();
        out.result(String(removed), { removed });
        return Exit.ok;
      };
    },
  },
  {
    name: "keys",
    params: [],
    doc: "Prints the keys (under --prefix P), one a line, paging through the store; --limit N stops after N.",
    flags: ["prefix", "limit"],
    prepare({ parsed }) {
      const prefixes = parsed.flags.prefix ?? [""];
      if (prefixes.length > 1) throw new UsageError("keys takes one --prefix");
      const limit = integerFlag(parsed, "limit", 1, Number.MAX_SAFE_INTEGER) ?? Infinity;
      return async ({ db, out }) => {
        let printed = 0;
        for await (const key of db.keys({ prefix: prefixes[0] as string })) {
          out.result(key, { key });
          if (++printed >= limit) break;
        }
        return Exit.ok;
      };
    },
  },
  {
    name: "ttl",
    params: ["KEY"],
    doc: "Prints the milliseconds KEY has left, or never. Exit 1 when it does not exist.",
    flags: [],
    prepare:
      ({ words: [key] }) =>
      async ({ db, out }) => {
        const ttl = await db.ttl(key as string);
        if (ttl === undefined) return notFound(out, key as string);
        out.result(ttl === null ? "never" : String(ttl), { key, found: true, ttl });
        return Exit.ok;
      },
  },
  {
    name: "expire",
    params: ["KEY", "MS"],
    doc: "Makes KEY expire in MS milliseconds. Prints ok, or not found with exit 1.",
    flags: [],
    prepare({ words: [key, ms] }) {
      const after = wholeNumber(ms as string, "MS", 1, TEN_YEARS);
      return async ({ db, out }) => {
        const found = await db.expire(key as string, after);
        out.result(found ? "ok" : "not found", { key, found });
        return found ? Exit.ok : Exit.notDone;
      };
    },
  },
  {
    name: "persist",
    params: ["KEY"],
    doc: "Makes KEY never expire. Prints ok, or not found with exit 1.",
    flags: [],
    prepare:
      ({ words: [key] }) =>
      async ({ db, out }) => {
        const found = await db.persist(key as string);
        out.result(found ? "ok" : "not found", { key, found });
        return found ? Exit.ok : Exit.notDone;
      },
  },
  {
    name: "watch",
    params: [],
    doc: "Prints each change under --prefix P or of --key K (op<TAB>key<TAB>value) until interrupted; exit 0.",
    flags: ["prefix", "key"],
    prepare: ({ parsed }) => watch(parsed),
  },
  {
    name: "info",
    params: [],
    doc: "Prints what the server says of itself (KV_SERVER_INFO): version, protocols, queries received.",
    flags: [],
    prepare:
      () =>
      async ({ db, out }) => {
        const info = await db.info();
        const lines = Object.entries(info).map(
          ([name, value]) => `${name}\t${typeof value === "string" ? value : out.value(value)}`,
        );
        out.result(lines.join("\n"), { ...info });
        return Exit.ok;
      },
  },
];
