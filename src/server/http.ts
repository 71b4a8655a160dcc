import type { Server } from "bun";
import type { Logger } from "../log/logger.ts";
import type { Store } from "../store/store.ts";
import type { AccessGate, Refusal } from "./access.ts";
import type { Connection } from "./connection.ts";
import type { Metrics } from "./metrics.ts";

const text = (status: number, body: string, headers: Record<string, string> = {}): Response =>
  new Response(`${body}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });

// RFC 3986's characters of a host and port: unreserved, sub-delims, "%" escapes, ":" and the
// brackets of an IPv6 literal. Bun leaves a Host with any other character out of request.url,
// so such a value would otherwise be served as if it were absent.
const HOST_CHARS = /^[\w.~!$&'()*+,;=%:[\]-]*$/;
const BASE = "http://localhost";

/**
 * The request's URL, or undefined when its Host header is malformed, which RFC 9112 §3.2
 * answers with 400. Bun copies a Host made of host characters into request.url without
 * checking its form, so `[`, `a:b:c` or `%zz` reach the URL parser, which refuses them.
 * (Two Host headers arrive joined by ", " and fail the character check, as RFC 9112 wants.)
 */
function requestUrl(request: Request): URL | undefined {
  const host = request.headers.get("host");
  if (host !== null && !HOST_CHARS.test(host)) return undefined;
  // HTTP/1.0 without a Host header (HAProxy's default health check) gives a bare path.
  return URL.canParse(request.url, BASE) ? new URL(request.url, BASE) : undefined;
}

/** What the HTTP side needs from the running node. */
export interface HttpContext {
  readonly store: Store;
  readonly metrics: Metrics;
  readonly gate: AccessGate;
  readonly log: Logger;
  /** True from the first drain signal on. */
  draining(): boolean;
  /** Open connections plus upgrades under way. */
  connections(): number;
  /** Counts an accepted upgrade before its socket opens, so the limit holds under a burst. */
  upgraded(): void;
}

/**
 * Plain HTTP beside the WebSocket endpoint: liveness, readiness, metrics,
 * and the upgrade on `/` behind the access gate. Answers undefined once the
 * request became a WebSocket.
 */
export async function route(
  request: Request,
  server: Server<Connection<string | Buffer> | undefined>,
  ctx: HttpContext,
): Promise<Response | undefined> {
  const url = requestUrl(request);
  if (url === undefined) {
    // Anyone can send one, so it must not fill the log at the default level.
    ctx.log.debug("bad request", {
      reason: "invalid Host header",
      remote: server.requestIP(request)?.address,
    });
    return text(400, "invalid Host header");
  }
  switch (url.pathname) {
    case "/": {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return text(426, "kvfleet speaks WebSocket on this path");
      }
      const refusal: Refusal | undefined = ctx.draining()
        ? { reason: "draining", status: 503, message: "node is shutting down" }
        : ctx.gate.check(request, url, ctx.connections());
      if (refusal !== undefined) {
        ctx.metrics.rejected(refusal.reason);
        ctx.log.info("upgrade refused", {
          reason: refusal.reason,
          remote: server.requestIP(request)?.address,
        });
        const challenge = refusal.status === 401 ? { "www-authenticate": "Bearer" } : undefined;
        return text(refusal.status, refusal.message, challenge);
      }
      if (server.upgrade(request, { data: undefined })) {
        ctx.upgraded();
        return undefined;
      }
      return text(400, "WebSocket upgrade failed");
    }
    case "/healthz":
      return text(200, "ok");
    case "/readyz":
      if (ctx.draining()) return text(503, "draining");
      return (await ctx.store.ready()) ? text(200, "ready") : text(503, "store unavailable");
    case "/metrics":
      return new Response(await ctx.metrics.render(), {
        headers: { "content-type": ctx.metrics.contentType },
      });
    default:
      return text(404, "not found");
  }
}
