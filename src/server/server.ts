import type { ServerWebSocket } from "bun";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import { parseMessage } from "../protocol/commands.ts";
import * as rsp from "../protocol/responses.ts";
import { Status } from "../protocol/status.ts";
import type { Store } from "../store/store.ts";
import { AccessGate } from "./access.ts";
import { Connection } from "./connection.ts";
import { execute, type Reply, type ServerCounters } from "./execute.ts";
import { route } from "./http.ts";
import { type MessageKind, type Metrics, NOT_A_COMMAND } from "./metrics.ts";

type Message = string | Buffer;
type Socket = ServerWebSocket<Connection<Message> | undefined>;

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

  const finish = (texts: string[], kind: MessageKind, started: number): string[] => {
    for (const text of texts) metrics.response(rsp.statusOf(text));
    metrics.message(kind, (performance.now() - started) / 1000);
    return texts;
  };

  /** Executes one message; never throws. */
  const handle = (message: Message): Reply => {
    const started = performance.now();
    if (typeof message !== "string") {
      return finish(
        [rsp.messageError(Status.OpCodeInvalid, "binary frames are not accepted")],
        NOT_A_COMMAND,
        started,
      );
    }
    let kind: MessageKind = NOT_A_COMMAND;
    let reply: Reply;
    try {
      const parsed = parseMessage(message);
      switch (parsed.name) {
        case "KV_ERR":
          reply = [rsp.messageError(parsed.st, parsed.m)];
          break;
        case "BODY_TYPE":
          kind = parsed.command;
          reply = [rsp.bodyTypeError(parsed.command)];
          break;
        default:
          kind = parsed.name;
          reply = execute(parsed, store, counters);
      }
    } catch (error) {
      reply = [rsp.messageError(Status.Unknown, error instanceof Error ? error.message : "")];
    }
    return reply instanceof Promise
      ? reply.then((texts) => finish(texts, kind, started))
      : finish(reply, kind, started);
  };

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
  const server = Bun.serve<Connection<Message> | undefined>({
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
        ws.data = new Connection(ws, config.limits, handle, messageBytes);
        // Upgraded just before the drain began: nothing to answer.
        if (draining) closeSocket(ws, CLOSE_GOING_AWAY, "server shutting down");
      },
      message(ws: Socket, message: Message) {
        // Read after the drain began: not executed, not answered, not counted.
        if (draining) return;
        counters.queries++;
        (ws.data as Connection<Message>).receive(message);
      },
      close(ws: Socket, code: number) {
        sockets.delete(ws);
        metrics.connected(-1);
        ws.data?.closed();
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
      for (const ws of sockets) ws.data?.stop();
      log.info("drain started", { connections: sockets.size });
      let expired = false;
      const answered = Promise.all(
        [...sockets].map(async (ws) => {
          await ws.data?.whenIdle();
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
        const left = ws.data?.unanswered ?? 0;
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

/** Closes a socket that is still open; a second close would replace nothing but costs a call. */
function closeSocket(ws: Socket, code: number, reason: string): void {
  if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
