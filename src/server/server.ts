import type { ServerWebSocket } from "bun";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import type { Version } from "../protocol/commands.ts";
import type { Store } from "../store/store.ts";
import { AccessGate } from "./access.ts";
import { Connection } from "./connection.ts";
import type { ServerCounters } from "./execute.ts";
import { handlers, type Message } from "./handler.ts";
import { route } from "./http.ts";
import type { Metrics } from "./metrics.ts";
import { type Session, Watches } from "./watches.ts";

/** Before its socket opens, a connection knows only the protocol version its upgrade chose. */
export interface Upgrade {
  readonly version: Version;
}
/** A socket's data: its `Connection` from the moment it opens. */
export type SocketData = Connection<Message> | Upgrade;
type Socket = ServerWebSocket<SocketData>;

/** Close code of a graceful shutdown ("going away"): every request executed was answered. */
export const CLOSE_GOING_AWAY = 1001;
/** Close code of a drain that ran out of time: the unanswered requests may or may not have run. */
export const CLOSE_DRAIN_TIMED_OUT = 1011;

/** How a drain ended. */
export interface DrainOutcome {
  /** True when the timeout passed while requests were still unanswered. */
  readonly timedOut: boolean;
  /** Requests executed and never answered; 0 unless timed out. */
  readonly unanswered: number;
}

export interface RunningServer {
  /** The URL clients connect to. */
  readonly url: string;
  /**
   * Graceful shutdown: readiness turns 503, upgrades are refused, and every
   * connection stops executing requests at once. Requests already executed
   * are answered, then each socket closes with 1001; requests received after
   * the drain started are never executed nor answered. A connection still
   * waiting for the store after `timeoutMs` is closed with 1011 instead.
   */
  drain(timeoutMs: number): Promise<DrainOutcome>;
}

export interface ServerDeps {
  readonly config: Config;
  readonly store: Store;
  readonly version: string;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** UTF-8 bytes of a message, as the client sent it. */
const messageBytes = (message: Message): number =>
  typeof message === "string" ? Buffer.byteLength(message) : message.byteLength;

/** Starts the WebSocket and HTTP listener on the configured address. */
export function startServer({ config, store, version, log, metrics }: ServerDeps): RunningServer {
  const counters = { version, queries: 0 } satisfies ServerCounters;
  const sockets = new Set<Socket>();
  let upgrading = 0;
  let draining = false;

  const handle = handlers(store, counters, metrics);
  const watches = new Watches(store, config.limits.maxWatches, {
    ...metrics.watchEvents,
    reset(affected) {
      metrics.watchEvents.reset(affected);
      log.warn("watches reset", {
        watches: affected,
        reason: "the store's change feed was interrupted",
      });
    },
  });
  /** The watches of each version 2 connection, ended when it closes. */
  const sessions = new Map<Socket, Session>();

  const ctx = {
    store,
    metrics,
    log,
    gate: new AccessGate(config),
    draining: () => draining,
    connections: () => sockets.size + upgrading,
    upgraded: () => {
      upgrading++;
    },
  };

  const tls = config.security.tls;
  const server = Bun.serve<SocketData>({
    hostname: config.kv.ip,
    port: config.kv.port,
    ...(tls ? { tls: { cert: Bun.file(tls.cert), key: Bun.file(tls.key) } } : {}),
    fetch: (request, srv) => route(request, srv, ctx),
    // Never Bun's development error page: it shows source lines and paths.
    development: false,
    error(error) {
      log.error("http error", { message: error.message });
      return new Response("internal error\n", { status: 500 });
    },
    websocket: {
      maxPayloadLength: config.kv.maxPayload,
      idleTimeout: config.limits.idleTimeout,
      sendPings: true,
      perMessageDeflate: false,
      // Connection enforces the limit itself, closing with a policy code, so
      // Bun must never drop a message silently first.
      backpressureLimit: 0,
      closeOnBackpressureLimit: false,
      open(ws: Socket) {
        upgrading--;
        sockets.add(ws);
        metrics.connected(1);
        const { version } = ws.data as Upgrade;
        if (version === 1) {
          ws.data = new Connection(ws, config.limits, handle[1], messageBytes);
        } else {
          const session = watches.session((text) => connectionOf(ws).push(text));
          sessions.set(ws, session);
          ws.data = new Connection(ws, config.limits, handle[2](session), messageBytes);
        }
        // Upgraded just before the drain began: nothing to answer.
        if (draining) closeSocket(ws, CLOSE_GOING_AWAY, "server shutting down");
      },
      message(ws: Socket, message: Message) {
        // Read after the drain began: not executed, not answered, not counted.
        if (draining) return;
        counters.queries++;
        connectionOf(ws).receive(message);
      },
      close(ws: Socket, code: number) {
        sockets.delete(ws);
        metrics.connected(-1);
        if (ws.data instanceof Connection) ws.data.closed();
        sessions.get(ws)?.close();
        sessions.delete(ws);
        // 1009 (too big) and 1008 (backlog) are the client's doing; worth an operator's eye.
        if (code === 1008 || code === 1009) log.info("client error", { closeCode: code });
        else log.debug("connection closed", { closeCode: code });
      },
    },
  });

  return {
    url: `${tls ? "wss" : "ws"}://${formatHost(server.hostname ?? config.kv.ip)}:${server.port}/`,
    async drain(timeoutMs) {
      draining = true;
      for (const ws of sockets) connectionOf(ws).stop();
      log.info("drain started", { connections: sockets.size });
      let expired = false;
      const answered = Promise.all(
        [...sockets].map(async (ws) => {
          await connectionOf(ws).whenIdle();
          if (!expired) closeSocket(ws, CLOSE_GOING_AWAY, "server shutting down");
        }),
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([answered, late]);
      expired = true;
      let unanswered = 0;
      for (const ws of sockets) {
        const left = connectionOf(ws).unanswered;
        unanswered += left;
        if (left > 0) closeSocket(ws, CLOSE_DRAIN_TIMED_OUT, "drain timed out");
        else closeSocket(ws, CLOSE_GOING_AWAY, "server shutting down");
      }
      const timedOut = unanswered > 0;
      if (timedOut) log.warn("drain timed out", { timeoutMs, unanswered });
      else log.info("drain answered", { connections: sockets.size });
      // The clients have until the deadline to complete the close handshake.
      await Promise.race([server.stop(), late]);
      clearTimeout(timer);
      await server.stop(true);
      log.info("drain closed connections");
      return { timedOut, unanswered };
    },
  };
}

/** The connection of an open socket (`sockets` holds only those). */
const connectionOf = (ws: Socket): Connection<Message> => ws.data as Connection<Message>;

/** Closes a socket that is still open; a second close would replace nothing but costs a call. */
function closeSocket(ws: Socket, code: number, reason: string): void {
  if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
