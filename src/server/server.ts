import type { Server, ServerWebSocket } from "bun";
import type { Config } from "../config/config.ts";
import { parseMessage } from "../protocol/commands.ts";
import * as rsp from "../protocol/responses.ts";
import { Status } from "../protocol/status.ts";
import type { Store } from "../store/store.ts";
import { Connection } from "./connection.ts";
import { execute, type Reply, type ServerCounters } from "./execute.ts";
import { route } from "./http.ts";

type Socket = ServerWebSocket<Connection | undefined>;

export interface RunningServer {
  readonly server: Server<Connection | undefined>;
  /** The URL clients connect to. */
  readonly url: string;
  /** Stops accepting and closes every connection. */
  stop(): Promise<void>;
}

/** Starts the WebSocket and HTTP listener on the configured address. */
export function startServer(config: Config, store: Store, version: string): RunningServer {
  const counters = { version, queries: 0 } satisfies ServerCounters;

  const handle = (text: string): Reply => {
    const parsed = parseMessage(text);
    switch (parsed.name) {
      case "KV_ERR":
        return [rsp.messageError(parsed.st, parsed.m)];
      case "BODY_TYPE":
        return [rsp.bodyTypeError(parsed.command)];
      default:
        return execute(parsed, store, counters);
    }
  };

  const server = Bun.serve<Connection | undefined>({
    hostname: config.kv.ip,
    port: config.kv.port,
    fetch: (request, srv) => route(request, srv, store),
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
        ws.data = new Connection(ws, config.limits.maxBacklog);
      },
      message(ws: Socket, message: string | Buffer) {
        counters.queries++;
        const connection = ws.data as Connection;
        if (typeof message !== "string") {
          connection.reply(
            [rsp.messageError(Status.OpCodeInvalid, "binary frames are not accepted")],
            0,
          );
          return;
        }
        let reply: Reply;
        try {
          reply = handle(message);
        } catch (error) {
          reply = [rsp.messageError(Status.Unknown, error instanceof Error ? error.message : "")];
        }
        connection.reply(reply, message.length);
      },
      close(ws: Socket) {
        ws.data?.closed();
      },
    },
  });

  return {
    server,
    url: `ws://${formatHost(server.hostname ?? config.kv.ip)}:${server.port}/`,
    async stop() {
      await server.stop(true);
    },
  };
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
