/** The validated, defaulted settings the server runs with. */
export interface Config {
  kv: {
    /** Address to listen on. @default "127.0.0.1" */
    ip: string;
    /** Port to listen on; 0 picks a free one. @default 1987 */
    port: number;
    /** Largest accepted message, in UTF-8 bytes. @default 1024 */
    maxPayload: number;
  };
  store: StoreConfig;
  limits: {
    /** Bytes of responses queued for one connection before it is closed with 1008. @default 4194304 */
    maxBacklog: number;
    /** Seconds without traffic before a connection is closed. @default 180 */
    idleTimeout: number;
    /** Open WebSocket connections per node; upgrades beyond it get HTTP 503. @default 10000 */
    maxConnections: number;
    /** Seconds a SIGTERM drain may take before the process exits anyway. @default 20 */
    drainTimeout: number;
  };
  security: {
    /** Shared token every WebSocket upgrade must present; none means open access. */
    token?: string;
    /** PEM certificate and key files: with both, the server speaks wss:// itself. */
    tls?: { cert: string; key: string };
    /** Allowed `Origin` headers; empty allows any (and clients that send none). */
    origins: string[];
  };
  log: { level: LogLevel };
}

export type LogLevel = "debug" | "info" | "warn" | "error";

export type StoreConfig =
  | {
      type: "memory";
      /** Estimated bytes of keys and values it may hold (see `store/memory.ts`); 0 = unlimited. @default 0 */
      maxMemory: number;
    }
  | {
      type: "redis";
      /** `redis://` or `rediss://` URL of a single Redis; exclusive with `cluster`. */
      url?: string;
      /** Seed node URLs of a Redis Cluster; exclusive with `url`. */
      cluster?: string[];
      /** Milliseconds before a store operation is answered with status 100. @default 1000 */
      commandTimeout: number;
    };
