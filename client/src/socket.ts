import { ConnectError } from "./errors.ts";

/** The part of a WebSocket this client uses: the browser's, Bun's, the `ws` package's. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open", listener: () => void): void;
  addEventListener(type: "error", listener: (event: { message?: unknown }) => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(
    type: "close",
    listener: (event: { code: number; reason: string }) => void,
  ): void;
  removeEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
}

/** A WebSocket constructor: the global one, or one given in the options (Node 20: `ws`). */
// biome-ignore lint/suspicious/noExplicitAny: constructors of different runtimes take different options.
export type WebSocketConstructor = new (url: string, ...rest: any[]) => WebSocketLike;

/** The subprotocol of protocol version 2. */
export const SUBPROTOCOL_V2 = "kvfleet.v2";

/** The first request on a protocol 2 connection; its answer names the protocols the server speaks. */
const HELLO = '{"id":"kvfleet-client","KV_SERVER_INFO":{}}';

export interface SocketOptions {
  token: string | undefined;
  /** "header": `Authorization: Bearer`; "query": `?token=` (what browsers can do). */
  tokenIn: "header" | "query";
  WebSocket: WebSocketConstructor;
  protocol: 1 | 2;
  timeout: number;
}

/**
 * Where the token goes when the options do not say: Bun's own WebSocket and
 * another given constructor (the `ws` package and its likes) send headers;
 * the global WebSocket of any other runtime (a browser's, Node 22's) cannot,
 * so it gets `?token=`, also when it is passed as `options.WebSocket`.
 */
export function defaultTokenIn(given: WebSocketConstructor | undefined): "header" | "query" {
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (given !== undefined && given !== global) return "header";
  return typeof (globalThis as { Bun?: unknown }).Bun === "undefined" ? "query" : "header";
}

/**
 * Opens a WebSocket and resolves once it is open and speaks the protocol
 * asked for; rejects with a ConnectError otherwise. For protocol 2 that takes
 * a first request: a server from before version 2 may select any subprotocol
 * offered (Bun's does), so only its KV_SERVER_INFO answer tells.
 */
export function openSocket(url: string, options: SocketOptions): Promise<WebSocketLike> {
  const protocols = options.protocol === 2 ? [SUBPROTOCOL_V2] : [];
  const socket = create(url, protocols, options);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // Closing a socket that never opened may throw; it is gone either way.
      }
      reject(new ConnectError(0, `cannot connect to ${redact(url)}: ${why}`));
    };
    const timer = setTimeout(() => fail(`no answer within ${options.timeout} ms`), options.timeout);
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(socket);
    };
    const hello = (event: { data: unknown }) => {
      socket.removeEventListener("message", hello);
      const text = String(event.data);
      let protocols: unknown;
      try {
        protocols = JSON.parse(text).KV_SERVER_INFO_RSP?.protocols;
      } catch {
        // Not JSON: not kvfleet; said below.
      }
      if (Array.isArray(protocols) && protocols.includes(2)) done();
      else
        fail(`it selected ${SUBPROTOCOL_V2} but does not speak it (answered ${text.slice(0, 80)})`);
    };
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      if (options.protocol === 1) {
        done();
      } else if (socket.protocol !== SUBPROTOCOL_V2) {
        fail(`the server did not select ${SUBPROTOCOL_V2} (not a kvfleet with protocol 2?)`);
      } else {
        socket.addEventListener("message", hello);
        socket.send(HELLO);
      }
    });
    socket.addEventListener("close", (event) =>
      fail(
        opened
          ? `closed (${event.code}) before answering`
          : `closed (${event.code}) before opening: refused, or 401/403/503 (token, origin, limit)`,
      ),
    );
    // The ws package says why ("Unexpected server response: 401"); browsers and Bun do not.
    socket.addEventListener("error", (event) =>
      fail(typeof event.message === "string" ? event.message : "the WebSocket failed to open"),
    );
  });
}

function create(url: string, protocols: string[], options: SocketOptions): WebSocketLike {
  const { token, tokenIn, WebSocket } = options;
  if (token === undefined) return new WebSocket(url, protocols);
  if (tokenIn === "query") {
    const withToken = new URL(url);
    withToken.searchParams.set("token", token);
    return new WebSocket(withToken.href, protocols);
  }
  const headers = { Authorization: `Bearer ${token}` };
  if (WebSocket === (globalThis as { WebSocket?: unknown }).WebSocket) {
    // Bun's own WebSocket takes headers in an options object.
    return new WebSocket(url, { protocols, headers });
  }
  // The `ws` package's signature: (url, protocols, { headers }).
  return new WebSocket(url, protocols, { headers });
}

/** The URL without a token, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.searchParams.has("token")) parsed.searchParams.set("token", "(hidden)");
    return parsed.href;
  } catch {
    return url;
  }
}
