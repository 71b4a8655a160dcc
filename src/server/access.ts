import { createHash, timingSafeEqual } from "node:crypto";
import type { Config } from "../config/config.ts";
import type { RejectReason } from "./metrics.ts";

/** Why an upgrade was refused, and the HTTP answer it gets. */
export interface Refusal {
  readonly reason: RejectReason;
  readonly status: 401 | 403 | 503;
  readonly message: string;
}

const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

// RFC 7235 §2.1: the scheme is case-insensitive and `1*SP` separates it from the credentials.
const BEARER = /^bearer +(.*)$/i;

/**
 * Decides whether a WebSocket upgrade may proceed: the shared token (header
 * or, for browsers, the `token` query parameter), the Origin allow-list and
 * the per-node connection limit, in that order, so that a client without the
 * token learns nothing about the node's load.
 */
export class AccessGate {
  /** Digests of equal length make the comparison constant-time whatever the token's length. */
  readonly #token: Buffer | undefined;
  readonly #origins: ReadonlySet<string>;
  readonly #maxConnections: number;

  constructor(config: Pick<Config, "security" | "limits">) {
    const { token, origins } = config.security;
    this.#token = token === undefined ? undefined : digest(token);
    this.#origins = new Set(origins);
    this.#maxConnections = config.limits.maxConnections;
  }

  check(request: Request, url: URL, connections: number): Refusal | undefined {
    if (this.#token !== undefined && !this.#authorized(request, url)) {
      return { reason: "unauthorized", status: 401, message: "a valid token is required" };
    }
    if (this.#origins.size > 0) {
      const origin = request.headers.get("origin");
      // Clients other than browsers send no Origin; the allow-list guards against pages.
      if (origin !== null && !this.#origins.has(origin)) {
        return { reason: "origin", status: 403, message: "origin not allowed" };
      }
    }
    if (connections >= this.#maxConnections) {
      return { reason: "connection_limit", status: 503, message: "connection limit reached" };
    }
    return undefined;
  }

  #authorized(request: Request, url: URL): boolean {
    const header = request.headers.get("authorization") ?? "";
    const given = BEARER.exec(header)?.[1] ?? url.searchParams.get("token");
    return given !== null && timingSafeEqual(digest(given), this.#token as Buffer);
  }
}
