import type { Batcher } from "./batches.ts";
import {
  checkKey,
  type Item,
  keyItem,
  memberItem,
  needsV2,
  perKey,
  pick,
  ttlOption,
  unexpected,
  whole,
} from "./requests.ts";
import type { Session, SessionStats } from "./session.ts";
import { defineMember, JsonObject, type JsonValue } from "./values.ts";
import type { Watch, WatchEvent, Watches, WatchSpec } from "./watches.ts";

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

// What each status means, per command (made once: calls are many).
const FOUND: Record<number, boolean> = { 1: true, 22: false };
const ADDED: Record<number, boolean> = { 20: true, 23: false };
const REMOVED: Record<number, boolean> = { 24: true, 22: false };
const EXISTS: Record<number, boolean> = { 23: true, 22: false };
const SET_RESULTS: Record<number, SetResult> = { 20: "created", 21: "updated" };
const APPEND_RESULTS: Record<number, AppendResult> = {
  1: "ok",
  22: "missing",
  41: "type-mismatch",
};

/**
 * A kvfleet database: every call answered in its own promise; per-key calls
 * of one turn joined into one request per command when `batches` is given.
 */
export class Kvfleet {
  readonly #session: Session;
  readonly #watches: Watches;
  readonly #batches: Batcher | undefined;

  constructor(session: Session, watches: Watches, batches: Batcher | undefined) {
    this.#session = session;
    this.#watches = watches;
    this.#batches = batches;
  }

  /** Stores `value` under `key`: "created" for a new key, "updated" when it existed. */
  async set(key: string, value: JsonValue, options: WriteOptions = {}): Promise<SetResult> {
    const [element] = await this.#perKey(
      "KV_SET",
      "{}",
      [memberItem(key, value)],
      ttlOption(options),
    );
    return pick("KV_SET", element, SET_RESULTS);
  }

  /** Stores `value` only if `key` does not exist: true when added. */
  async add(key: string, value: JsonValue, options: WriteOptions = {}): Promise<boolean> {
    const [element] = await this.#perKey(
      "KV_ADD",
      "{}",
      [memberItem(key, value)],
      ttlOption(options),
    );
    return pick("KV_ADD", element, ADDED);
  }

  /** The value of `key`, or undefined when it does not exist. */
  async get(key: string): Promise<JsonValue | undefined> {
    const [element] = await this.#perKey("KV_GET", "[]", [keyItem(key)]);
    return pick("KV_GET", element, FOUND) ? element?.v : undefined;
  }

  /** The values of the keys that exist, by key. */
  async getMany(keys: Iterable<string>): Promise<Map<string, JsonValue>> {
    const items = [...keys].map((key, i) => keyItem(key, `keys[${i}]`));
    const found = new Map<string, JsonValue>();
    for (const element of await this.#perKey("KV_GET", "[]", items)) {
      if (pick("KV_GET", element, FOUND)) {
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
    const items: Item[] = [];
    for (const [key, value] of members) if (value !== undefined) items.push(memberItem(key, value));
    const elements = await this.#perKey("KV_SET", "{}", items, ttlOption(options));
    const results: { [key: string]: JsonValue } = {};
    for (const element of elements) {
      defineMember(results, element.k as string, pick("KV_SET", element, SET_RESULTS));
    }
    return results as { [key: string]: SetResult };
  }

  /** Removes `key`: true when it existed. */
  async remove(key: string): Promise<boolean> {
    const [element] = await this.#perKey("KV_RMV", "[]", [keyItem(key)]);
    return pick("KV_RMV", element, REMOVED);
  }

  /** Whether `key` exists. */
  async has(key: string): Promise<boolean> {
    const [element] = await this.#perKey("KV_CONTAINS", "[]", [keyItem(key)]);
    return pick("KV_CONTAINS", element, EXISTS);
  }

  /**
   * Appends to the value of `key` (array to array, object members to an
   * object, string to string): "missing" when there is no such key,
   * "type-mismatch" when the kinds differ.
   */
  async append(key: string, value: JsonValue): Promise<AppendResult> {
    const [element] = await this.#perKey("KV_APPEND", "{}", [memberItem(key, value)]);
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
    this.#v2("keys");
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
    this.#v2("ttl");
    const [element] = await this.#perKey("KV_TTL", "[]", [keyItem(key)]);
    return pick("KV_TTL", element, FOUND) ? (element?.ttl ?? null) : undefined;
  }

  /** Makes `key` expire `ms` milliseconds from now: false when it does not exist. */
  async expire(key: string, ms: number): Promise<boolean> {
    this.#v2("expire");
    const [element] = await this.#perKey("KV_EXPIRE", "{}", [memberItem(key, ms)]);
    return pick("KV_EXPIRE", element, FOUND);
  }

  /** Makes `key` never expire: false when it does not exist. */
  async persist(key: string): Promise<boolean> {
    this.#v2("persist");
    const [element] = await this.#perKey("KV_PERSIST", "[]", [keyItem(key)]);
    return pick("KV_PERSIST", element, FOUND);
  }

  /**
   * Calls `callback` for every change of the watched keys, from any node,
   * until `close()`. After a reconnect the watch is opened again and the
   * callback gets `{ op: "reset" }`: read the keys anew.
   */
  async watch(spec: WatchSpec, callback: (event: WatchEvent) => void): Promise<Watch> {
    this.#v2("watch");
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

  /** The protocol version this client speaks: 2, or 1 when connected with `protocol: 1`. */
  get protocol(): 1 | 2 {
    return this.#session.protocol;
  }

  /** Reconnects and resent requests so far; requests in flight and queued now. */
  get stats(): SessionStats {
    return this.#session.stats;
  }

  /** Closes the connection; calls still waiting fail, watches end. */
  async close(): Promise<void> {
    this.#session.close();
  }

  #perKey(command: string, body: "[]" | "{}", items: Item[], options = "") {
    const batches = this.#batches;
    // No items: no request at all, as without batches.
    return batches === undefined || items.length === 0
      ? perKey(this.#session, command, body, items, options)
      : batches.send(command, body, items, options);
  }

  #v2(what: string): void {
    if (this.#session.protocol === 1) throw needsV2(what);
  }
}
