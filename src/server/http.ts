import type { Server } from "bun";
import type { Store } from "../store/store.ts";
import type { Connection } from "./connection.ts";

const text = (status: number, body: string): Response =>
  new Response(`${body}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

/**
 * Plain HTTP beside the WebSocket endpoint: liveness, readiness, and the
 * upgrade on `/`. Answers undefined once the request became a WebSocket.
 */
export async function route(
  request: Request,
  server: Server<Connection | undefined>,
  store: Store,
): Promise<Response | undefined> {
  const { pathname } = new URL(request.url);
  switch (pathname) {
    case "/":
      if (server.upgrade(request, { data: undefined })) return undefined;
      return text(426, "kvfleet speaks WebSocket on this path");
    case "/healthz":
      return text(200, "ok");
    case "/readyz":
      return (await store.ready()) ? text(200, "ready") : text(503, "store unavailable");
    default:
      return text(404, "not found");
  }
}
