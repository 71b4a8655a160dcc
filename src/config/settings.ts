import { accessSync, constants } from "node:fs";
import { isIP } from "node:net";

/** A rejected value; the message says why, and `load.ts` prefixes the source and field. */
export class InvalidValue extends Error {}

/** How one setting's values are read from JSON (the file) and from text (environment, flags). */
export interface Kind<T> {
  readonly fromFile: (value: unknown) => T;
  readonly fromText: (text: string) => T;
}

/** One row of the settings table: where a field may be given and how it is checked. */
export interface Setting<T> {
  readonly kind: Kind<T>;
  readonly default?: T;
  /** Flag name without the leading `--`. */
  readonly flag?: string;
  /** Variables, strongest first; a name outside `KVFLEET_` is borrowed from other tools. */
  readonly env: readonly string[];
  /** One line for the settings tables of the docs. */
  readonly doc?: string;
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
  const expected = `expected an integer from ${min} to ${max}`;
  const inRange = (n: number) => Number.isInteger(n) && n >= min && n <= max;
  return {
    fromFile: (v) =>
      typeof v === "number" && inRange(v) ? v : fail(`${expected}, got ${showJson(v)}`),
    // Only plain digits: Number() would also take "1e3", " 5", "0x10" and "".
    fromText: (t) =>
      /^[0-9]+$/.test(t) && inRange(Number(t))
        ? Number(t)
        : fail(`${expected}, got ${showText(t)}`),
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
  const expected = `expected a byte count such as 805306368 or 768Mi (suffixes Ki, Mi, Gi, k, M, G), at most ${maxShown}`;
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
  };
}

function exactly(value: number): Kind<number> {
  const expected = `expected ${value}`;
  return {
    fromFile: (v) => (v === value ? value : fail(`${expected}, got ${showJson(v)}`)),
    fromText: (t) => (t === String(value) ? value : fail(`${expected}, got ${showText(t)}`)),
  };
}

function oneOf<const T extends string>(...values: T[]): Kind<T> {
  const expected = `expected ${values.map((v) => JSON.stringify(v)).join(" or ")}`;
  const check = (v: unknown, shown: string): T =>
    values.includes(v as T) ? (v as T) : fail(`${expected}, got ${shown}`);
  return { fromFile: (v) => check(v, showJson(v)), fromText: (t) => check(t, showText(t)) };
}

// Labels may hold underscores: container runtimes hand out such names and resolvers accept them.
const LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`, "i");

function checkHost(v: unknown, shown: string): string {
  // All-numeric names are malformed IPv4 addresses, not hostnames.
  const ok = typeof v === "string" && (isIP(v) !== 0 || (HOSTNAME.test(v) && !/^[0-9.]+$/.test(v)));
  return ok ? v : fail(`expected an IP address or a hostname, got ${shown}`);
}

const host: Kind<string> = {
  fromFile: (v) => checkHost(v, showJson(v)),
  fromText: (t) => checkHost(t, showText(t)),
};

const REDIS_EXPECTED = "expected a redis:// or rediss:// URL";

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

const LIST_EXPECTED = "expected a non-empty list of redis:// or rediss:// URLs";

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
};

/** A secret: failures describe it, never echo it. */
const TOKEN_EXPECTED = "expected a token of 16 to 512 printable ASCII characters without spaces";
function checkToken(v: unknown): string {
  return typeof v === "string" && /^[\x21-\x7e]{16,512}$/.test(v)
    ? v
    : fail(
        `${TOKEN_EXPECTED}, got ${typeof v === "string" ? `${v.length} characters` : typeOf(v)}`,
      );
}
const token: Kind<string> = { fromFile: checkToken, fromText: checkToken };

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
};

const ORIGINS_EXPECTED = "expected a list of origins such as https://app.example.com";

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
};

/**
 * Every setting, keyed by its path in the config file. Flags, environment and file are all
 * read through this table, so adding a row is all a new setting needs (besides `Config`).
 */
export const SETTINGS = {
  version: { kind: exactly(1), default: 1, env: [] },
  "kv.ip": { kind: host, default: "127.0.0.1", flag: "ip", env: ["KVFLEET_IP"] },
  "kv.port": { kind: integer(0, 65535), default: 1987, flag: "port", env: ["KVFLEET_PORT"] },
  "kv.maxPayload": {
    kind: integer(64, 2097152),
    default: 1024,
    flag: "max-payload",
    env: ["KVFLEET_MAX_PAYLOAD"],
  },
  "store.type": {
    kind: oneOf("memory", "redis"),
    default: "memory",
    flag: "store",
    env: ["KVFLEET_STORE"],
  },
  "store.url": { kind: redisUrl, flag: "redis-url", env: ["KVFLEET_REDIS_URL", "REDIS_URL"] },
  "store.cluster": { kind: redisUrls, flag: "redis-cluster", env: ["KVFLEET_REDIS_CLUSTER"] },
  "store.maxMemory": {
    kind: byteCount(2 ** 40, "1024Gi"),
    default: 0,
    flag: "max-memory",
    env: ["KVFLEET_MAX_MEMORY"],
    doc: "Memory store only: bytes of keys and values it may hold (estimated, per-entry overhead included); writes beyond answer 100; 0 = unlimited; e.g. 768Mi",
  },
  "store.commandTimeout": {
    kind: integer(10, 60000),
    default: 1000,
    flag: "command-timeout",
    env: ["KVFLEET_COMMAND_TIMEOUT"],
  },
  "limits.maxBacklog": {
    kind: integer(1024, 1073741824),
    default: 4194304,
    flag: "max-backlog",
    env: ["KVFLEET_MAX_BACKLOG"],
  },
  "limits.idleTimeout": {
    kind: integer(8, 960),
    default: 180,
    flag: "idle-timeout",
    env: ["KVFLEET_IDLE_TIMEOUT"],
  },
  "limits.maxConnections": {
    kind: integer(1, 1000000),
    default: 10000,
    flag: "max-connections",
    env: ["KVFLEET_MAX_CONNECTIONS"],
  },
  "limits.drainTimeout": {
    kind: integer(1, 3600),
    default: 20,
    flag: "drain-timeout",
    env: ["KVFLEET_DRAIN_TIMEOUT"],
  },
  // No flag: a token on the command line shows in process listings.
  "security.token": { kind: token, env: ["KVFLEET_TOKEN"] },
  "security.tlsCert": { kind: readableFile, flag: "tls-cert", env: ["KVFLEET_TLS_CERT"] },
  "security.tlsKey": { kind: readableFile, flag: "tls-key", env: ["KVFLEET_TLS_KEY"] },
  "security.origins": { kind: origins, default: [], flag: "origins", env: ["KVFLEET_ORIGINS"] },
  "log.level": {
    kind: oneOf("debug", "info", "warn", "error"),
    default: "info",
    flag: "log-level",
    env: ["KVFLEET_LOG_LEVEL"],
  },
} as const satisfies Record<string, Setting<unknown>>;

/** A setting's path in the config file, e.g. `kv.port`. */
export type Path = keyof typeof SETTINGS;

/** The checked value type of the setting at `P`. */
export type Value<P extends Path> = (typeof SETTINGS)[P]["kind"] extends Kind<infer T> ? T : never;

/** The config file path is not a setting: it has no place in the file itself. */
export const CONFIG_FLAG = "config";
export const CONFIG_ENV = "KVFLEET_CONFIG";
