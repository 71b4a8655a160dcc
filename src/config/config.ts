/**
 * The validated, defaulted settings the server runs with. What each field means, its default
 * and its range are its row in `SETTINGS` (settings.ts), e.g. `kv.port`; the comments here
 * cover only where this shape differs from those rows.
 */
export interface Config {
  kv: {
    ip: string;
    port: number;
    maxPayload: number;
  };
  store: StoreConfig;
  limits: {
    maxBacklog: number;
    maxInFlight: number;
    maxWatches: number;
    idleTimeout: number;
    maxConnections: number;
    drainTimeout: number;
  };
  security: {
    token?: string;
    /** `security.tlsCert` and `security.tlsKey`, which come as a pair or not at all. */
    tls?: { cert: string; key: string };
    origins: string[];
  };
  log: { level: LogLevel };
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** `store.type`, with the fields that only a Redis store has. */
export type StoreConfig =
  | {
      type: "memory";
      /** Estimated bytes of keys and values it may hold (see `store/memory.ts`); 0 = unlimited. @default 0 */
      maxMemory: number;
    }
  | { type: "redis"; url: string; commandTimeout: number }
  | { type: "redis"; cluster: string[]; commandTimeout: number };
