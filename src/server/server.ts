import type { Server, ServerWebSocket } from "bun";
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

type Socket = ServerWebSocket<Connection | undefined>;

/** Close code of a graceful shutdown ("going away"). */
export const CLOSE_GOING_AWAY = 1001;

export interface RunningServer {
  readonly server: Server<Connection | undefined>;
  /** The URL clients connect to. */
  readonly url: string;
  /**
   * Graceful shutdown: readiness turns 503 and upgrades are refused at once,
   * every request already received is answered, then each socket closes
   * with 1001 and the listener stops.
   */
  drain(): Promise<void>;
}

export interface ServerDeps {
  readonly config: Config;
  readonly store: Store;
  readonly version: string;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** Starts the WebSocket and HTTP listener on the configured address. */
export function startServer({ config, store, version, log, metrics }: ServerDeps): RunningServer {
  const counters = { version, queries: 0 } satisfies ServerCounters;
  const sockets = new Set<Socket>();
  let upgrading = 0;
  let draining = false;

  /** The reply to one text message; `kind` is set to what the message turned out to be. */
  let kind: MessageKind = NOT_A_COMMAND;
  const handle = (text: string): Reply => {
    const parsed = parseMessage(text);
    switch (parsed.name) {
      case "KV_ERR":
        kind = NOT_A_COMMAND;
        return [rsp.messageError(parsed.st, parsed.m)];
      case "BODY_TYPE":
        kind = parsed.command;
        return [rsp.bodyTypeError(parsed.command)];
      default:
        kind = parsed.name;
        return execute(parsed, store, counters);
    }
  };

  const measure = (texts: string[], of: MessageKind, started: number): string[] => {
    for (const text of texts) metrics.response(rsp.statusOf(text));
    metrics.message(of, (performance.now() - started) / 1000);
    return texts;
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
  const server = Bun.serve<Connection | undefined>({
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
        ws.data = new Connection(ws, config.limits.maxBacklog);
      },
      message(ws: Socket, message: string | Buffer) {
        const started = performance.now();
        counters.queries++;
        const connection = ws.data as Connection;
        kind = NOT_A_COMMAND;
        let reply: Reply;
        if (typeof message !== "string") {
          reply = [rsp.messageError(Status.OpCodeInvalid, "binary frames are not accepted")];
        } else {
          try {
            reply = handle(message);
          } catch (error) {
            reply = [rsp.messageError(Status.Unknown, error instanceof Error ? error.message : "")];
          }
        }
        const size = typeof message === "string" ? message.length : 0;
        if (reply instanceof Promise) {
          const of = kind;
          connection.reply(
            reply.then((texts) => measure(texts, of, started)),
            size,
          );
        } else {
          connection.reply(measure(reply, kind, started), size);
        }
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
    server,
    url: `${tls ? "wss" : "ws"}://${formatHost(server.hostname ?? config.kv.ip)}:${server.port}/`,
    async drain() {
      draining = true;
      log.info("drain started", { connections: sockets.size });
      await Promise.all([...sockets].map((ws) => ws.data?.whenIdle()));
      log.info("drain answered", { connections: sockets.size });
      for (const ws of sockets) ws.close(CLOSE_GOING_AWAY, "server shutting down");
      await server.stop();
      log.info("drain closed connections");
    },
  };
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
