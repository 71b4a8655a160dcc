/**
 * The transport ceiling: a bare Bun WebSocket server that parses each
 * request with kvfleet's own parser and answers a fixed response of the same
 * shape as kvfleet's (the found value of `--value-size` bytes for a get, a
 * fixed success status per key otherwise), with no store, no metrics and no
 * ordering queue. Run as a child process, like a node, so it shares the
 * cores the same way. Prints one JSON line with event "listening".
 *
 *   bun bench/transport-server.ts [--port=0] [--value-size=100] [--max-payload=65536]
 */
import { parseArgs } from "node:util";
import type { ServerWebSocket } from "bun";
import { parseMessage } from "../src/protocol/requests-v1.ts";
import * as rsp from "../src/protocol/responses-v1.ts";
import { Status } from "../src/protocol/status.ts";
import { numberFlag } from "./cli.ts";
import { valueText } from "./requests.ts";

const { values: flags } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "value-size": { type: "string", default: "100" },
    "max-payload": { type: "string", default: "65536" },
  },
});
const value = valueText(numberFlag("value-size", flags["value-size"]));
let queries = 0;

function answer(ws: ServerWebSocket<undefined>, text: string): void {
  const parsed = parseMessage(text);
  switch (parsed.name) {
    case "KV_ERR":
      ws.send(rsp.messageError(parsed.st, parsed.m));
      return;
    case "BODY_TYPE":
      ws.send(rsp.bodyTypeError(parsed.command));
      return;
    case "KV_GET":
      for (const token of parsed.tokens) ws.send(rsp.found(token, value));
      return;
    case "KV_SET":
    case "KV_ADD":
      for (const token of parsed.tokens) ws.send(rsp.keyStatus(parsed.name, Status.KeySet, token));
      return;
    case "KV_RMV":
      for (const token of parsed.tokens)
        ws.send(rsp.keyStatus(parsed.name, Status.KeyRemoved, token));
      return;
    case "KV_CONTAINS":
      for (const token of parsed.tokens)
        ws.send(rsp.keyStatus(parsed.name, Status.KeyExists, token));
      return;
    case "KV_APPEND":
      for (const token of parsed.tokens) ws.send(rsp.keyStatus(parsed.name, Status.Ok, token));
      return;
    case "KV_SETQ":
    case "KV_ADDQ":
      return;
    case "KV_COUNT":
    case "KV_CLEAR":
      ws.send(rsp.counted(parsed.name, 0));
      return;
    case "KV_SERVER_INFO":
      ws.send(rsp.serverInfo(queries, "transport"));
      return;
  }
}

const server = Bun.serve<undefined>({
  hostname: "127.0.0.1",
  port: numberFlag("port", flags.port),
  fetch(request, srv) {
    if (srv.upgrade(request, { data: undefined })) return undefined;
    return new Response("WebSocket only\n", { status: 426 });
  },
  websocket: {
    maxPayloadLength: numberFlag("max-payload", flags["max-payload"]),
    perMessageDeflate: false,
    sendPings: true,
    idleTimeout: 180,
    message(ws, message) {
      queries++;
      if (typeof message === "string") answer(ws, message);
      else ws.send(rsp.messageError(Status.OpCodeInvalid, "binary frames are not accepted"));
    },
  },
});

console.log(
  JSON.stringify({ event: "listening", url: `ws://127.0.0.1:${server.port}/`, store: "none" }),
);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void server.stop(true);
    process.exit(0);
  });
}
