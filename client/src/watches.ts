import { ConnectionLostError, type KvfleetError } from "./errors.ts";
import { unexpected } from "./requests.ts";
import type { Frame, Session } from "./session.ts";
import type { JsonValue } from "./values.ts";

/** What a watch is on: keys by name, keys by prefix (`[""]`: every key). */
export interface WatchSpec {
  keys?: string[];
  prefixes?: string[];
}

/**
 * A change of a watched key. `reset`: changes may have been missed (the
 * client reconnected, or the node lost its feed from the store), so read the
 * watched keys anew. `closed`: the watch ended other than by its `close()`:
 * the client was closed, gave up reconnecting, or the server refused to open
 * the watch again; `error` says which.
 */
export type WatchEvent =
  | { op: "set" | "append"; key: string; value: JsonValue }
  | { op: "rmv" | "expire"; key: string }
  | { op: "clear" | "reset" }
  | { op: "closed"; error: KvfleetError };

export interface Watch {
  /** Ends the watch: no event comes after this resolves. */
  close(): Promise<void>;
}

interface Entry {
  readonly body: WatchSpec;
  readonly callback: (event: WatchEvent) => void;
  /** The server's number for it on the current connection; undefined while not established. */
  w: number | undefined;
  closed: boolean;
}

/** The watches of one client, kept across reconnects. */
export class Watches {
  readonly #session: () => Session;
  readonly #entries = new Set<Entry>();
  readonly #byW = new Map<number, Entry>();

  constructor(session: () => Session) {
    this.#session = session;
  }

  get size(): number {
    return this.#entries.size;
  }

  async open(spec: WatchSpec, callback: (event: WatchEvent) => void): Promise<Watch> {
    const body: WatchSpec = {};
    if (spec.keys !== undefined) body.keys = [...spec.keys];
    if (spec.prefixes !== undefined) body.prefixes = [...spec.prefixes];
    const entry: Entry = { body, callback, w: undefined, closed: false };
    await this.#establish(entry);
    this.#entries.add(entry);
    return { close: () => this.#close(entry) };
  }

  /** After a reconnect: open every watch again, each telling its callback `reset` once it is. */
  reconnected(): void {
    this.#byW.clear();
    for (const entry of this.#entries) {
      entry.w = undefined;
      this.#establish(entry, true).then(
        () => deliver(entry, { op: "reset" }),
        (error: KvfleetError) => {
          // Lost again: the next connection tries again. Refused: the watch is over.
          if (!(error instanceof ConnectionLostError)) this.#end(entry, error);
        },
      );
    }
  }

  event(frame: Frame): void {
    const event = frame.KV_EVENT as { w?: unknown; k?: unknown; op?: unknown; v?: JsonValue };
    const entry = typeof event.w === "number" ? this.#byW.get(event.w) : undefined;
    if (entry === undefined || entry.closed) return;
    const { op, k } = event;
    if ((op === "set" || op === "append") && typeof k === "string" && event.v !== undefined) {
      deliver(entry, { op, key: k, value: event.v });
    } else if ((op === "rmv" || op === "expire") && typeof k === "string") {
      deliver(entry, { op, key: k });
    } else if (op === "clear" || op === "reset") {
      deliver(entry, { op });
    }
  }

  /** The client ended: every watch gets `closed`. */
  ended(error: KvfleetError): void {
    for (const entry of this.#entries) this.#end(entry, error);
  }

  async #establish(entry: Entry, first = false): Promise<void> {
    const answer = await this.#session().request("KV_WATCH", JSON.stringify(entry.body), "", first);
    const w = (answer.KV_WATCH_RSP as { w?: unknown } | undefined)?.w;
    if (typeof w !== "number") throw unexpected("KV_WATCH", answer);
    if (entry.closed) {
      // Closed while opening again after a reconnect: nothing to keep on the server.
      await this.#session()
        .request("KV_UNWATCH", `{"w":${w}}`)
        .catch(() => undefined);
      return;
    }
    entry.w = w;
    this.#byW.set(w, entry);
  }

  async #close(entry: Entry): Promise<void> {
    if (entry.closed) return;
    entry.closed = true;
    this.#entries.delete(entry);
    const w = entry.w;
    if (w === undefined) return;
    this.#byW.delete(w);
    const session = this.#session();
    // Without a connection the watch is gone with it; nothing to tell the server.
    if (session.connected) await session.request("KV_UNWATCH", `{"w":${w}}`).catch(() => undefined);
  }

  #end(entry: Entry, error: KvfleetError): void {
    if (entry.closed) return;
    entry.closed = true;
    this.#entries.delete(entry);
    if (entry.w !== undefined) this.#byW.delete(entry.w);
    deliver(entry, { op: "closed", error });
  }
}

/** Calls the callback outside the client's frame handling: its exception must not break the client. */
function deliver(entry: Entry, event: WatchEvent): void {
  if (entry.closed && event.op !== "closed") return;
  try {
    entry.callback(event);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}
