import { type Backoff, DEFAULT_BACKOFF } from "./backoff.ts";
import { Batcher } from "./batches.ts";
import { Kvfleet } from "./client.ts";
import type { KvfleetError } from "./errors.ts";
import { Session } from "./session.ts";
import { defaultTokenIn, type WebSocketConstructor } from "./socket.ts";
import { Watches } from "./watches.ts";

export type { Backoff } from "./backoff.ts";
export type {
  AppendResult,
  KeysOptions,
  Kvfleet,
  ServerInfo,
  SetResult,
  WriteOptions,
} from "./client.ts";
export {
  ConnectError,
  ConnectionLostError,
  KvfleetError,
  type Outcome,
  RequestTimeoutError,
} from "./errors.ts";
export { type ReadOptions, readJson } from "./json-read.ts";
export { writeJson } from "./json-write.ts";
export type { SessionStats as Stats } from "./session.ts";
export type { WebSocketConstructor, WebSocketLike } from "./socket.ts";
export { JsonNumber, JsonObject, type JsonValue } from "./values.ts";
export type { Watch, WatchEvent, WatchSpec } from "./watches.ts";

export interface ConnectOptions {
  /** The server's token: `Authorization: Bearer` where the WebSocket can send headers, else `?token=`. */
  token?: string;
  /** Where the token goes; by default "header" in Bun or with a `WebSocket` option, "query" in browsers. */
  tokenIn?: "header" | "query";
  /** A WebSocket constructor, for runtimes without a global one (Node 20: `ws`). */
  WebSocket?: WebSocketConstructor;
  /** Open a lost connection again (default true), with these bounds. */
  reconnect?: boolean | Partial<Backoff>;
  /** Milliseconds a call may wait for its answer (default 10 000). */
  requestTimeout?: number;
  /** Milliseconds opening a connection may take (default 10 000). */
  connectTimeout?: number;
  /**
   * Requests sent and not yet answered at most (default 256); later ones wait
   * in the client. A batch of calls (`batch`) is one request.
   */
  maxInFlight?: number;
  /**
   * Calls of one per-key command made in one turn of the event loop go as one
   * request (default true) of at most `maxBytes` UTF-8 bytes (default 1024,
   * the server's default kv.maxPayload: raise both together); false sends a
   * request per call. Protocol 1 always sends a request per key.
   */
  batch?: boolean | { maxBytes?: number };
  /** Integers beyond 2^53 - 1: "bigint" (default, exact) or "number" (the nearest double). */
  bigints?: "bigint" | "number";
  /**
   * 2 (default): kvfleet.v2, and a ConnectError from a server without it.
   * 1: protocol version 1, for NemesisDB or a kvfleet before version 2: no
   * ttl, keys, expiry or watches, and one request per key.
   */
  protocol?: 1 | 2;
}

/**
 * Connects to a kvfleet server speaking protocol version 2 (subprotocol
 * `kvfleet.v2`); rejects with ConnectError when it cannot.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Kvfleet> {
  const WebSocket =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (WebSocket === undefined) {
    throw new TypeError(
      "no global WebSocket here: pass one as options.WebSocket (Node 20: the ws package)",
    );
  }
  let session: Session | undefined;
  const watches = new Watches(() => session as Session);
  const protocol = protocolOf(options.protocol);
  const maxBytes = batchBytes(options.batch);
  const batches =
    protocol === 2 && maxBytes !== false
      ? new Batcher(() => session as Session, maxBytes)
      : undefined;
  session = await Session.open(
    {
      url,
      token: options.token,
      tokenIn: options.tokenIn ?? defaultTokenIn(options.WebSocket),
      WebSocket,
      protocol,
      timeout: positive("connectTimeout", options.connectTimeout, 10_000),
      requestTimeout: positive("requestTimeout", options.requestTimeout, 10_000),
      maxInFlight: positive("maxInFlight", options.maxInFlight, 256),
      bigints: options.bigints ?? "bigint",
      backoff: backoff(options.reconnect),
    },
    {
      reconnected: () => watches.reconnected(),
      needsConnection: () => watches.size > 0,
      event: (frame) => watches.event(frame),
      ended: (error: KvfleetError) => watches.ended(error),
      flush: () => batches?.flush(),
    },
  );
  return new Kvfleet(session, watches, batches);
}

/** The byte bound of a batch, or false for no batches. */
function batchBytes(option: ConnectOptions["batch"]): number | false {
  if (option === false) return false;
  const given = option === true || option === undefined ? {} : option;
  return positive("batch.maxBytes", given.maxBytes, 1024);
}

function backoff(option: ConnectOptions["reconnect"]): Backoff | false {
  if (option === false) return false;
  const given = option === true || option === undefined ? {} : option;
  return {
    attempts: positive("reconnect.attempts", given.attempts, DEFAULT_BACKOFF.attempts),
    minDelay: positive("reconnect.minDelay", given.minDelay, DEFAULT_BACKOFF.minDelay),
    maxDelay: positive("reconnect.maxDelay", given.maxDelay, DEFAULT_BACKOFF.maxDelay),
  };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${name} must be a whole number from 1, not ${value}`);
  }
  return value;
}

function protocolOf(value: unknown): 1 | 2 {
  if (value === undefined || value === 2) return 2;
  if (value === 1) return 1;
  throw new TypeError(`protocol must be 1 or 2, not ${String(value)}`);
}
