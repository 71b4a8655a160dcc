import { accessSync, constants } from "node:fs";
import { isIP } from "node:net";

/** A rejected value; the message says why, and `load.ts` prefixes the source and field. */
export class InvalidValue extends Error {}

/** How one setting's values are read from JSON (the file) and from text (environment, flags). */
export interface Kind<T> {
  readonly fromFile: (value: unknown) => T;
  readonly fromText: (text: string) => T;
  /** The values accepted, for `--help` and the docs, e.g. "an integer from 0 to 65535". */
  readonly describe?: string;
}

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

const MAX_SHOWN = 60;

function clip(text: string): string {
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

/** A file value as it appears in messages; the JSON form keeps the message on one line. */
function showJson(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value !== null && typeof value === "object") return "an object";
  return clip(JSON.stringify(value));
}

function showText(text: string): string {
  return clip(JSON.stringify(text));
}

function fail(message: string): never {
  throw new InvalidValue(message);
}

function integer(min: number, max: number): Kind<number> {
  const describe = `an integer from ${min} to ${max}`;
  const expected = `expected ${describe}`;
  const inRange = (n: number) => Number.isInteger(n) && n >= min && n <= max;
  return {
    fromFile: (v) =>
      typeof v === "number" && inRange(v) ? v : fail(`${expected}, got ${showJson(v)}`),
    // Only plain digits: Number() would also take "1e3", " 5", "0x10" and "".
    fromText: (t) =>
      /^[0-9]+$/.test(t) && inRange(Number(t))
        ? Number(t)
        : fail(`${expected}, got ${showText(t)}`),
    describe,
  };
}

const UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
};

/**
 * A byte count: plain digits, or digits with a Kubernetes-style suffix (Ki, Mi,
 * Gi binary; k, M, G decimal), so that `768Mi` from a manifest works. The file
 * takes a number or such a string. Kubernetes' `m` (milli) is refused, not
 * mistaken for mega.
 */
function byteCount(max: number, maxShown: string): Kind<number> {
  const describe = `a byte count such as 805306368 or 768Mi (suffixes Ki, Mi, Gi, k, M, G), at most ${maxShown}`;
  const expected = `expected ${describe}`;
  const read = (t: string, shown: string): number => {
    const match = /^([0-9]+)(Ki|Mi|Gi|k|M|G)?$/.exec(t);
    const n = match ? Number(match[1]) * (UNITS[match[2] ?? ""] as number) : Number.NaN;
    return Number.isSafeInteger(n) && n <= max ? n : fail(`${expected}, got ${shown}`);
  };
  return {
    fromFile: (v) =>
      typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max
        ? v
        : typeof v === "string"
          ? read(v, showJson(v))
          : fail(`${expected}, got ${showJson(v)}`),
    fromText: (t) => read(t, showText(t)),
    describe,
  };
}

function exactly(value: number): Kind<number> {
  const expected = `expected ${value}`;
  return {
    fromFile: (v) => (v === value ? value : fail(`${expected}, got ${showJson(v)}`)),
    fromText: (t) => (t === String(value) ? value : fail(`${expected}, got ${showText(t)}`)),
    describe: String(value),
  };
}

function oneOf<const T extends string>(...values: T[]): Kind<T> {
  const describe = values.map((v) => JSON.stringify(v)).join(" or ");
  const check = (v: unknown, shown: string): T =>
    values.includes(v as T) ? (v as T) : fail(`expected ${describe}, got ${shown}`);
  return {
    fromFile: (v) => check(v, showJson(v)),
    fromText: (t) => check(t, showText(t)),
    describe,
  };
}

// Labels may hold underscores: container runtimes hand out such names and resolvers accept them.
const LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`, "i");

const HOST_ACCEPTED = "an IP address or a hostname";

function checkHost(v: unknown, shown: string): string {
  // All-numeric names are malformed IPv4 addresses, not hostnames.
  const ok = typeof v === "string" && (isIP(v) !== 0 || (HOSTNAME.test(v) && !/^[0-9.]+$/.test(v)));
  return ok ? v : fail(`expected ${HOST_ACCEPTED}, got ${shown}`);
}

const host: Kind<string> = {
  fromFile: (v) => checkHost(v, showJson(v)),
  fromText: (t) => checkHost(t, showText(t)),
  describe: HOST_ACCEPTED,
};

const REDIS_ACCEPTED = "a redis:// or rediss:// URL";
const REDIS_EXPECTED = `expected ${REDIS_ACCEPTED}`;

/** Redis URLs may carry a password, so failures describe the value instead of echoing it. */
function checkRedisUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`${REDIS_EXPECTED}, got a value that is not a URL`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    return fail(`${REDIS_EXPECTED}, got a URL with scheme ${url.protocol}`);
  }
  if (url.hostname === "") return fail(`${REDIS_EXPECTED}, got a URL without a host`);
  return text;
}

const redisUrl: Kind<string> = {
  fromFile: (v) =>
    typeof v === "string" ? checkRedisUrl(v) : fail(`${REDIS_EXPECTED}, got ${typeOf(v)}`),
  fromText: checkRedisUrl,
  describe: REDIS_ACCEPTED,
};

/** A value's JSON type for messages that must not echo the value itself. */
export function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return `a ${typeof v}`;
}

/** A list setting given as text (environment, flags): comma-separated, spaces around items ignored. */
const commaList = (text: string): string[] =>
  text === "" ? [] : text.split(",").map((item) => item.trim());

const LIST_ACCEPTED = "a non-empty list of redis:// or rediss:// URLs";
const LIST_EXPECTED = `expected ${LIST_ACCEPTED}`;

function checkRedisUrls(items: readonly unknown[]): string[] {
  if (items.length === 0) return fail(`${LIST_EXPECTED}, got an empty list`);
  return items.map((item, i) => {
    try {
      return typeof item === "string" ? checkRedisUrl(item) : fail(`got ${typeOf(item)}`);
    } catch (e) {
      return fail(`item ${i + 1} of ${items.length}: ${(e as Error).message}`);
    }
  });
}

const redisUrls: Kind<string[]> = {
  fromFile: (v) =>
    Array.isArray(v) ? checkRedisUrls(v) : fail(`${LIST_EXPECTED}, got ${typeOf(v)}`),
  fromText: (t) => checkRedisUrls(commaList(t)),
  describe: LIST_ACCEPTED,
};

/** A secret: failures describe it, never echo it. */
const TOKEN_ACCEPTED = "a token of 16 to 512 printable ASCII characters without spaces";
function checkToken(v: unknown): string {
  return typeof v === "string" && /^[\x21-\x7e]{16,512}$/.test(v)
    ? v
    : fail(
        `expected ${TOKEN_ACCEPTED}, got ${typeof v === "string" ? `${v.length} characters` : typeOf(v)}`,
      );
}
const token: Kind<string> = {
  fromFile: checkToken,
  fromText: checkToken,
  describe: TOKEN_ACCEPTED,
};

function checkReadable(v: unknown, shown: string): string {
  if (typeof v !== "string" || v === "") return fail(`expected a file path, got ${shown}`);
  try {
    accessSync(v, constants.R_OK);
  } catch {
    return fail(`cannot read file ${showText(v)}`);
  }
  return v;
}

const readableFile: Kind<string> = {
  fromFile: (v) => checkReadable(v, showJson(v)),
  fromText: (t) => checkReadable(t, showText(t)),
  describe: "a readable file",
};

const ORIGINS_ACCEPTED = "a list of origins such as https://app.example.com";
const ORIGINS_EXPECTED = `expected ${ORIGINS_ACCEPTED}`;

function checkOrigins(items: readonly unknown[]): string[] {
  return items.map((item, i) => {
    const at = `item ${i + 1} of ${items.length}`;
    if (typeof item !== "string") return fail(`${ORIGINS_EXPECTED}, ${at} is ${typeOf(item)}`);
    let origin: string;
    try {
      origin = new URL(item).origin;
    } catch {
      origin = "null";
    }
    // An origin is scheme, host and port only: a path or a trailing slash would never match.
    return origin !== "null" && origin === item
      ? item
      : fail(`${ORIGINS_EXPECTED}, ${at} is ${showText(item)}`);
  });
}

const origins: Kind<string[]> = {
  fromFile: (v) =>
    Array.isArray(v) ? checkOrigins(v) : fail(`${ORIGINS_EXPECTED}, got ${typeOf(v)}`),
  fromText: (t) => checkOrigins(commaList(t)),
  describe: ORIGINS_ACCEPTED,
};

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
