import type { Server } from "bun";
import type { Logger } from "../log/logger.ts";
import type { Store } from "../store/store.ts";
import type { AccessGate, Refusal } from "./access.ts";
import type { Metrics } from "./metrics.ts";
import type { SocketData } from "./server.ts";

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

/** The WebSocket subprotocol a client offers to speak protocol version 2. */
export const SUBPROTOCOL_V2 = "kvfleet.v2";

/** Whether a `Sec-WebSocket-Protocol` list names version 2 (names are case-sensitive, RFC 6455). */
function offersV2(offered: string | null): boolean {
  return offered?.split(",").some((name) => name.trim() === SUBPROTOCOL_V2) ?? false;
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
  server: Server<SocketData>,
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
      const version = offersV2(request.headers.get("sec-websocket-protocol")) ? 2 : 1;
      // An empty value keeps Bun from echoing the first offered name: a client
      // offering only names kvfleet does not speak must see that none was chosen.
      const headers = { "Sec-WebSocket-Protocol": version === 2 ? SUBPROTOCOL_V2 : "" };
      if (server.upgrade(request, { data: { version }, headers })) {
        ctx.upgraded();
        return undefined;
      }
      return text(400, "WebSocket upgrade failed");
    }
    case "/healthz":
      return text(200, "ok");
    case "/readyz":
      if (ctx.draining()) return text(503, "draining");
      if (!(await ctx.store.ready())) return text(503, "store unavailable");
      return text(200, ["ready", ...(ctx.store.notes?.() ?? [])].join("\n"));
    case "/metrics":
      return new Response(await ctx.metrics.render(), {
        headers: { "content-type": ctx.metrics.contentType },
      });
    default:
      return text(404, "not found");
  }
}
