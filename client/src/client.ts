import { KvfleetError } from "./errors.ts";
import { writeJson } from "./json-write.ts";
import type { Frame, Session, SessionStats } from "./session.ts";
import { defineMember, JsonObject, type JsonValue } from "./values.ts";
import type { Watch, WatchEvent, Watches, WatchSpec } from "./watches.ts";

/** One element of a per-key answer. */
interface Element {
  k?: string;
  st: number;
  v?: JsonValue;
  ttl?: number | null;
}

export interface WriteOptions {
  /** Milliseconds until the key expires (1 to ten years); without it the key never expires. */
  ttl?: number;
}

export interface KeysOptions {
  /** Only keys that start with it (default "": every key). */
  prefix?: string;
  /** Keys per page asked of the server, 1 to 1000 (default 100). */
  pageSize?: number;
  /** Leave out keys the listing already gave (default true; keeps every key seen in memory). */
  unique?: boolean;
}

export type SetResult = "created" | "updated";
export type AppendResult = "ok" | "missing" | "type-mismatch";

/** What KV_SERVER_INFO says. */
export interface ServerInfo {
  version: string;
  /** Messages the node received since it started. */
  queries: number;
  protocols: number[];
}

const SET_RESULTS: Record<number, SetResult> = { 20: "created", 21: "updated" };
const APPEND_RESULTS: Record<number, AppendResult> = {
  1: "ok",
  22: "missing",
  41: "type-mismatch",
};

/** A kvfleet database: every call is one request, answered in its own promise. */
export class Kvfleet {
  readonly #session: Session;
  readonly #watches: Watches;

  constructor(session: Session, watches: Watches) {
    this.#session = session;
    this.#watches = watches;
  }

  /** Stores `value` under `key`: "created" for a new key, "updated" when it existed. */
  async set(key: string, value: JsonValue, options: WriteOptions = {}): Promise<SetResult> {
    const [element] = await this.#perKey("KV_SET", member(key, value), 1, ttl(options));
    return pick("KV_SET", element, SET_RESULTS);
  }

  /** Stores `value` only if `key` does not exist: true when added. */
  async add(key: string, value: JsonValue, options: WriteOptions = {}): Promise<boolean> {
    const [element] = await this.#perKey("KV_ADD", member(key, value), 1, ttl(options));
    return pick("KV_ADD", element, { 20: true, 23: false });
  }

  /** The value of `key`, or undefined when it does not exist. */
  async get(key: string): Promise<JsonValue | undefined> {
    const [element] = await this.#perKey("KV_GET", keyList([key]), 1);
    return pick("KV_GET", element, { 1: true, 22: false }) ? element?.v : undefined;
  }

  /** The values of the keys that exist, by key. */
  async getMany(keys: Iterable<string>): Promise<Map<string, JsonValue>> {
    const list = [...keys];
    const found = new Map<string, JsonValue>();
    for (const element of await this.#perKey("KV_GET", keyList(list), list.length)) {
      if (pick("KV_GET", element, { 1: true, 22: false })) {
        found.set(element.k as string, element.v as JsonValue);
      }
    }
    return found;
  }

  /** Stores every member of `entries`: for each key, "created" or "updated". */
  async setMany(
    entries: { [key: string]: JsonValue } | JsonObject | Map<string, JsonValue>,
    options: WriteOptions = {},
  ): Promise<{ [key: string]: SetResult }> {
    const members =
      entries instanceof Map || entries instanceof JsonObject ? entries : Object.entries(entries);
    const body: string[] = [];
    for (const [key, value] of members) if (value !== undefined) body.push(member(key, value, ""));
    const elements = await this.#perKey("KV_SET", `{${body.join(",")}}`, undefined, ttl(options));
    const results: { [key: string]: JsonValue } = {};
    for (const element of elements) {
      defineMember(results, element.k as string, pick("KV_SET", element, SET_RESULTS));
    }
    return results as { [key: string]: SetResult };
  }

  /** Removes `key`: true when it existed. */
  async remove(key: string): Promise<boolean> {
    const [element] = await this.#perKey("KV_RMV", keyList([key]), 1);
    return pick("KV_RMV", element, { 24: true, 22: false });
  }

  /** Whether `key` exists. */
  async has(key: string): Promise<boolean> {
    const [element] = await this.#perKey("KV_CONTAINS", keyList([key]), 1);
    return pick("KV_CONTAINS", element, { 23: true, 22: false });
  }

  /**
   * Appends to the value of `key` (array to array, object members to an
   * object, string to string): "missing" when there is no such key,
   * "type-mismatch" when the kinds differ.
   */
  async append(key: string, value: JsonValue): Promise<AppendResult> {
    const [element] = await this.#perKey("KV_APPEND", member(key, value), 1);
    return pick("KV_APPEND", element, APPEND_RESULTS);
  }

  /** The number of keys (an expired key may count for a few seconds). */
  async count(): Promise<number> {
    return whole("KV_COUNT", await this.#session.request("KV_COUNT", "{}"));
  }

  /** Removes every key; answers how many there were. */
  async clear(): Promise<number> {
    return whole("KV_CLEAR", await this.#session.request("KV_CLEAR", "{}"));
  }

  /** Every key (under `prefix`), page by page from the server as the loop asks. */
  async *keys(options: KeysOptions = {}): AsyncGenerator<string, void, undefined> {
    const body: { prefix: string; limit: number; cursor?: string } = {
      prefix: options.prefix ?? "",
      limit: options.pageSize ?? 100,
    };
    const seen = options.unique === false ? undefined : new Set<string>();
    for (;;) {
      const frame = await this.#session.request("KV_KEYS", JSON.stringify(body));
      const page = frame.KV_KEYS_RSP as { keys?: unknown; cursor?: unknown } | undefined;
      if (!Array.isArray(page?.keys)) throw unexpected("KV_KEYS", frame);
      for (const key of page.keys as string[]) {
        if (seen?.has(key)) continue;
        seen?.add(key);
        yield key;
      }
      if (typeof page.cursor !== "string") return;
      body.cursor = page.cursor;
    }
  }

  /** Milliseconds until `key` expires; null when it never does; undefined when it does not exist. */
  async ttl(key: string): Promise<number | null | undefined> {
    const [element] = await this.#perKey("KV_TTL", keyList([key]), 1);
    return pick("KV_TTL", element, { 1: true, 22: false }) ? (element?.ttl ?? null) : undefined;
  }

  /** Makes `key` expire `ms` milliseconds from now: false when it does not exist. */
  async expire(key: string, ms: number): Promise<boolean> {
    const [element] = await this.#perKey("KV_EXPIRE", member(key, ms), 1);
    return pick("KV_EXPIRE", element, { 1: true, 22: false });
  }

  /** Makes `key` never expire: false when it does not exist. */
  async persist(key: string): Promise<boolean> {
    const [element] = await this.#perKey("KV_PERSIST", keyList([key]), 1);
    return pick("KV_PERSIST", element, { 1: true, 22: false });
  }

  /**
   * Calls `callback` for every change of the watched keys, from any node,
   * until `close()`. After a reconnect the watch is opened again and the
   * callback gets `{ op: "reset" }`: read the keys anew.
   */
  async watch(spec: WatchSpec, callback: (event: WatchEvent) => void): Promise<Watch> {
    const keys = spec.keys ?? [];
    const prefixes = spec.prefixes ?? [];
    if (keys.length === 0 && prefixes.length === 0) {
      throw new TypeError('watch: give keys or prefixes (prefixes: [""] is every key)');
    }
    for (const [i, key] of keys.entries()) checkKey(key, `keys[${i}]`);
    for (const [i, prefix] of prefixes.entries()) checkKey(prefix, `prefixes[${i}]`);
    return this.#watches.open(spec, callback);
  }

  /** The node's version, query count and protocols. */
  async info(): Promise<ServerInfo> {
    const frame = await this.#session.request("KV_SERVER_INFO", "{}");
    const rsp = frame.KV_SERVER_INFO_RSP as {
      version?: unknown;
      qryCnt?: unknown;
      protocols?: unknown;
    };
    if (typeof rsp?.version !== "string") throw unexpected("KV_SERVER_INFO", frame);
    return {
      version: rsp.version,
      queries: Number(rsp.qryCnt),
      protocols: Array.isArray(rsp.protocols) ? rsp.protocols.map(Number) : [1],
    };
  }

  /** Reconnects and resent requests so far; requests in flight and queued now. */
  get stats(): SessionStats {
    return this.#session.stats;
  }

  /** Closes the connection; calls still waiting fail, watches end. */
  async close(): Promise<void> {
    this.#session.close();
  }

  /** Sends a per-key command and checks that the answer has `size` elements (when known). */
  async #perKey(
    command: string,
    body: string,
    size: number | undefined,
    options = "",
  ): Promise<Element[]> {
    const frame = await this.#session.request(command, body, options);
    const elements = frame[`${command}_RSP`];
    if (!Array.isArray(elements) || (size !== undefined && elements.length !== size)) {
      throw unexpected(command, frame);
    }
    return elements as unknown as Element[];
  }
}

/** The `ttl` option as request text. */
function ttl(options: WriteOptions): string {
  if (options.ttl === undefined) return "";
  if (!Number.isSafeInteger(options.ttl) || options.ttl < 1) {
    throw new TypeError(`ttl must be a whole number of milliseconds from 1, not ${options.ttl}`);
  }
  return `,"ttl":${options.ttl}`;
}

/** `"key":value` as request text, wrapped in braces unless `brace` is "". */
function member(key: string, value: unknown, brace = "{}"): string {
  const name = JSON.stringify(checkKey(key));
  const text = `${name}:${writeJson(value, `the value of ${name}`)}`;
  return brace === "" ? text : `{${text}}`;
}

/** A JSON array of keys, each checked to be a string. */
function keyList(keys: unknown[]): string {
  return JSON.stringify(
    keys.map((key, i) => checkKey(key, keys.length === 1 ? "key" : `keys[${i}]`)),
  );
}

function checkKey(key: unknown, name = "key"): string {
  if (typeof key !== "string") throw new TypeError(`${name} must be a string, not ${typeof key}`);
  return key;
}

/** The meaning of an element's status, or the error it stands for. */
function pick<T>(command: string, element: Element | undefined, meanings: Record<number, T>): T {
  const status = element?.st;
  if (typeof status === "number" && status in meanings) return meanings[status] as T;
  throw KvfleetError.answered(command, typeof status === "number" ? status : 0, "", element?.k);
}

function whole(command: string, frame: Frame): number {
  const cnt = (frame[`${command}_RSP`] as { cnt?: unknown } | undefined)?.cnt;
  if (typeof cnt !== "number") throw unexpected(command, frame);
  return cnt;
}

function unexpected(command: string, frame: Frame): KvfleetError {
  return new KvfleetError(0, `${command}: unexpected answer ${JSON.stringify(Object.keys(frame))}`);
}
