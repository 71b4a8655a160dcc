import { accessSync, constants } from "node:fs";
import { isIP } from "node:net";

/**
 * The kinds of value a setting takes, each read from the config file (JSON)
 * and from text (environment, flags), with messages that say what was
 * expected and never echo a secret.
 */

/** A rejected value; the message says why, and `load.ts` prefixes the source and field. */
export class InvalidValue extends Error {}

/** How one setting's values are read from JSON (the file) and from text (environment, flags). */
export interface Kind<T> {
  readonly fromFile: (value: unknown) => T;
  readonly fromText: (text: string) => T;
  /** The values accepted, for `--help` and the docs, e.g. "an integer from 0 to 65535". */
  readonly describe?: string;
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

export function integer(min: number, max: number): Kind<number> {
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
export function byteCount(max: number, maxShown: string): Kind<number> {
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

export function exactly(value: number): Kind<number> {
  const expected = `expected ${value}`;
  return {
    fromFile: (v) => (v === value ? value : fail(`${expected}, got ${showJson(v)}`)),
    fromText: (t) => (t === String(value) ? value : fail(`${expected}, got ${showText(t)}`)),
    describe: String(value),
  };
}

export function oneOf<const T extends string>(...values: T[]): Kind<T> {
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

export const host: Kind<string> = {
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

export const redisUrl: Kind<string> = {
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

export const redisUrls: Kind<string[]> = {
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
export const token: Kind<string> = {
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

export const readableFile: Kind<string> = {
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

export const origins: Kind<string[]> = {
  fromFile: (v) =>
    Array.isArray(v) ? checkOrigins(v) : fail(`${ORIGINS_EXPECTED}, got ${typeOf(v)}`),
  fromText: (t) => checkOrigins(commaList(t)),
  describe: ORIGINS_ACCEPTED,
};
