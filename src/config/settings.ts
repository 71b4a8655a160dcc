import {
  byteCount,
  exactly,
  host,
  integer,
  type Kind,
  oneOf,
  origins,
  readableFile,
  redisUrl,
  redisUrls,
  token,
} from "./kinds.ts";

export { InvalidValue, type Kind, typeOf } from "./kinds.ts";

/** One row of the settings table: where a field may be given and how it is checked. */
export interface Setting<T> {
  readonly kind: Kind<T>;
  readonly default?: T;
  /** Flag name without the leading `--`. */
  readonly flag?: string;
  /** Variables, strongest first; a name outside `KVFLEET_` is borrowed from other tools. */
  readonly env: readonly string[];
  /** What the setting means, one sentence for `--help` and the docs; units belong here. */
  readonly doc: string;
}

/**
 * Every setting, keyed by its path in the config file: flags, environment and file are read
 * through this table, and `--help` and the docs' tables are rendered from it. A new setting
 * needs its row here, its field in `Config` (config.ts) and a `pick` of it in `loadConfig`
 * (load.ts), which builds the typed `Config` (the type checker asks for it once a required
 * field is in `Config`); then `bun run docs` regenerates the tables in README.md and
 * docs/deploy.md.
 */
export const SETTINGS = {
  version: { kind: exactly(1), default: 1, env: [], doc: "Format of the config file." },
  "kv.ip": {
    kind: host,
    default: "127.0.0.1",
    flag: "ip",
    env: ["KVFLEET_IP"],
    doc: "Address to listen on (the container image sets 0.0.0.0).",
  },
  "kv.port": {
    kind: integer(0, 65535),
    default: 1987,
    flag: "port",
    env: ["KVFLEET_PORT"],
    doc: "Port to listen on; 0 picks any free port.",
  },
  "kv.maxPayload": {
    kind: integer(64, 2097152),
    default: 1024,
    flag: "max-payload",
    env: ["KVFLEET_MAX_PAYLOAD"],
    doc: "Largest accepted message, in UTF-8 bytes; a larger one closes its connection with 1009.",
  },
  "store.type": {
    kind: oneOf("memory", "redis"),
    default: "memory",
    flag: "store",
    env: ["KVFLEET_STORE"],
    doc: "Where data is kept: in this process, or in Redis.",
  },
  "store.url": {
    kind: redisUrl,
    flag: "redis-url",
    env: ["KVFLEET_REDIS_URL", "REDIS_URL"],
    doc: "A single Redis to keep data in; selects Redis. Exclusive with store.cluster.",
  },
  "store.cluster": {
    kind: redisUrls,
    flag: "redis-cluster",
    env: ["KVFLEET_REDIS_CLUSTER"],
    doc: "Seed nodes of a Redis Cluster to keep data in, comma-separated outside the file; selects Redis.",
  },
  "store.maxMemory": {
    kind: byteCount(2 ** 40, "1024Gi"),
    default: 0,
    flag: "max-memory",
    env: ["KVFLEET_MAX_MEMORY"],
    doc: "Memory store only: bytes of keys and values it may hold, per-entry overhead included; a write beyond it answers 100; 0 is unlimited.",
  },
  "store.commandTimeout": {
    kind: integer(10, 60000),
    default: 1000,
    flag: "command-timeout",
    env: ["KVFLEET_COMMAND_TIMEOUT"],
    doc: "Milliseconds a store operation may take before it is answered with status 100.",
  },
  "limits.maxBacklog": {
    kind: integer(1024, 1073741824),
    default: 4194304,
    flag: "max-backlog",
    env: ["KVFLEET_MAX_BACKLOG"],
    doc: "Bytes one connection may hold (requests not yet answered, replies not yet written, the socket's buffer) before it is closed with 1008.",
  },
  "limits.maxInFlight": {
    kind: integer(1, 1000000),
    default: 512,
    flag: "max-in-flight",
    env: ["KVFLEET_MAX_IN_FLIGHT"],
    doc: "Requests one connection may have at the store at once; later ones wait in order, unexecuted, counted in its backlog.",
  },
  "limits.maxWatches": {
    kind: integer(1, 1000000),
    default: 1000,
    flag: "max-watches",
    env: ["KVFLEET_MAX_WATCHES"],
    doc: "Watches (KV_WATCH, protocol v2) one connection may hold open at once; past it KV_WATCH answers 12.",
  },
  "limits.idleTimeout": {
    kind: integer(8, 960),
    default: 180,
    flag: "idle-timeout",
    env: ["KVFLEET_IDLE_TIMEOUT"],
    doc: "Seconds without traffic before a connection is closed.",
  },
  "limits.maxConnections": {
    kind: integer(1, 1000000),
    default: 10000,
    flag: "max-connections",
    env: ["KVFLEET_MAX_CONNECTIONS"],
    doc: "Open WebSockets per node; an upgrade beyond it gets HTTP 503.",
  },
  "limits.drainTimeout": {
    kind: integer(1, 3600),
    default: 20,
    flag: "drain-timeout",
    env: ["KVFLEET_DRAIN_TIMEOUT"],
    doc: "Seconds a graceful stop (SIGTERM, SIGINT) may take before the process exits anyway.",
  },
  // No flag: a token on the command line shows in process listings.
  "security.token": {
    kind: token,
    env: ["KVFLEET_TOKEN"],
    doc: "Shared token every WebSocket upgrade must present; without one, access is open. No flag: flags show in process listings.",
  },
  "security.tlsCert": {
    kind: readableFile,
    flag: "tls-cert",
    env: ["KVFLEET_TLS_CERT"],
    doc: "PEM certificate; with security.tlsKey (both or neither) the server speaks wss:// instead of ws://.",
  },
  "security.tlsKey": {
    kind: readableFile,
    flag: "tls-key",
    env: ["KVFLEET_TLS_KEY"],
    doc: "PEM private key of security.tlsCert.",
  },
  "security.origins": {
    kind: origins,
    default: [],
    flag: "origins",
    env: ["KVFLEET_ORIGINS"],
    doc: "Origins browser pages may connect from, comma-separated outside the file; empty allows any. Clients sending no Origin (not browsers) always pass.",
  },
  "log.level": {
    kind: oneOf("debug", "info", "warn", "error"),
    default: "info",
    flag: "log-level",
    env: ["KVFLEET_LOG_LEVEL"],
    doc: "Least severe event written to the log.",
  },
} as const satisfies Record<string, Setting<unknown>>;

/** A setting's path in the config file, e.g. `kv.port`. */
export type Path = keyof typeof SETTINGS;

/** The checked value type of the setting at `P`. */
export type Value<P extends Path> = (typeof SETTINGS)[P]["kind"] extends Kind<infer T> ? T : never;

/** The config file path is not a setting: it has no place in the file itself. */
export const CONFIG_FLAG = "config";
export const CONFIG_ENV = "KVFLEET_CONFIG";
