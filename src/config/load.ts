import { readFileSync } from "node:fs";
import type { Config, StoreConfig } from "./config.ts";
import {
  CONFIG_ENV,
  CONFIG_FLAG,
  InvalidValue,
  type Path,
  SETTINGS,
  type Setting,
  typeOf,
  type Value,
} from "./settings.ts";

/** A configuration problem; the message is one line naming the source and the field. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
  }
}

/** Where configuration comes from; injectable so that tests need no process state. */
export interface ConfigSources {
  /** Arguments after the script, i.e. `process.argv.slice(2)`. */
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Reads the config file as text; defaults to `readFileSync(path, "utf8")`. */
  readFile?: (path: string) => string;
}

type Values = { -readonly [P in Path]?: Value<P> };

/** The settings one source gave, and how that source names each field in messages. */
interface Layer {
  readonly values: Values;
  /** Message prefix for a field, e.g. `flag --port`. */
  where(path: Path): string;
  /** How the source spells a field, e.g. `--port`. */
  spell(path: Path): string;
  /** Whether the value came from a variable of another tool (REDIS_URL), which yields. */
  borrowed(path: Path): boolean;
}

const PATHS = Object.keys(SETTINGS) as Path[];
const setting = (path: Path): Setting<unknown> => SETTINGS[path];
const FLAGS = new Map(PATHS.flatMap((p) => (setting(p).flag ? [[setting(p).flag, p]] : [])));
const KNOWN_ENV = new Set([CONFIG_ENV, ...PATHS.flatMap((p) => setting(p).env)]);

function parse(values: Values, path: Path, where: string, read: () => unknown): void {
  try {
    (values as Record<string, unknown>)[path] = read();
  } catch (e) {
    if (e instanceof InvalidValue) throw new ConfigError(`${where}: ${e.message}`);
    throw e;
  }
}

function flagLayer(argv: readonly string[]): { layer: Layer; configPath?: string } {
  const values: Values = {};
  let configPath: string | undefined;
  const spell = (path: Path) => `--${setting(path).flag}`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("-") || arg === "--") {
      // Not echoed: a stray argument may be a credential-bearing URL meant for a flag.
      throw new ConfigError(`argument ${i + 1}: unexpected argument (flags start with --)`);
    }
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const path = FLAGS.get(name);
    if (!arg.startsWith("--") || (path === undefined && name !== CONFIG_FLAG)) {
      throw new ConfigError(`flag ${eq < 0 ? arg : arg.slice(0, eq)}: unknown flag`);
    }
    let value = eq < 0 ? argv[i + 1] : arg.slice(eq + 1);
    if (eq < 0) {
      if (value === undefined || value.startsWith("--")) value = undefined;
      else i++;
    }
    if (value === undefined || (name === CONFIG_FLAG && value === "")) {
      throw new ConfigError(`flag --${name}: missing value`);
    }
    const text = value;
    if (path === undefined) configPath = text;
    else parse(values, path, `flag --${name}`, () => setting(path).kind.fromText(text));
  }
  const layer = { values, where: (p: Path) => `flag ${spell(p)}`, spell, borrowed: () => false };
  return { layer, configPath };
}

function envLayer(env: ConfigSources["env"]): Layer {
  const unknown = Object.keys(env)
    .filter(
      (name) => name.startsWith("KVFLEET_") && !KNOWN_ENV.has(name) && env[name] !== undefined,
    )
    .sort();
  if (unknown[0] !== undefined) {
    // Kubernetes injects KVFLEET_* service links when the service is called kvfleet.
    throw new ConfigError(
      `environment ${unknown[0]}: unknown variable (a typo, or a Kubernetes service link?)`,
    );
  }
  const values: Values = {};
  const used = new Map<Path, string>();
  for (const path of PATHS) {
    const name = setting(path).env.find((n) => env[n] !== undefined);
    const text = name === undefined ? undefined : env[name];
    if (name === undefined || text === undefined) continue;
    used.set(path, name);
    parse(values, path, `environment ${name}`, () => setting(path).kind.fromText(text));
  }
  const spell = (p: Path) => used.get(p) ?? setting(p).env[0] ?? p;
  return {
    values,
    where: (p) => `environment ${spell(p)}`,
    spell,
    borrowed: (p) => used.has(p) && !spell(p).startsWith("KVFLEET_"),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

// Field names come from the file: quote odd ones so the message stays readable and one line.
const showKey = (key: string) => (/^[\w$-]+$/.test(key) ? key : JSON.stringify(key));

const SECTIONS = new Set(PATHS.flatMap((p) => (p.includes(".") ? [p.split(".")[0]] : [])));

function fileLayer(file: string, readFile: (path: string) => string): Layer {
  const prefix = `config file ${file}`;
  let data: unknown;
  try {
    data = JSON.parse(readFile(file));
  } catch (e) {
    const what = e instanceof SyntaxError ? "invalid JSON" : "cannot read";
    throw new ConfigError(`${prefix}: ${what}: ${(e as Error).message}`);
  }
  const values: Values = {};
  const walk = (obj: unknown, section: string | undefined) => {
    const here = section ?? "top level";
    if (!isObject(obj)) {
      throw new ConfigError(`${prefix}: ${here}: expected an object, got ${typeOf(obj)}`);
    }
    for (const [key, value] of Object.entries(obj)) {
      const full = section === undefined ? key : `${section}.${showKey(key)}`;
      // hasOwn, not `in`: a field named "toString" must not find Object.prototype.
      if (!key.includes(".") && Object.hasOwn(SETTINGS, full)) {
        const path = full as Path;
        parse(values, path, `${prefix}: ${path}`, () => setting(path).kind.fromFile(value));
      } else if (section === undefined && SECTIONS.has(key)) {
        walk(value, key);
      } else {
        throw new ConfigError(`${prefix}: unknown field ${section ? full : showKey(key)}`);
      }
    }
  };
  walk(data, undefined);
  return { values, where: (p) => `${prefix}: ${p}`, spell: (p) => p, borrowed: () => false };
}

interface StoreChoice {
  readonly layer: Layer;
  readonly type?: "memory" | "redis";
  readonly target?: "store.url" | "store.cluster";
}

/** Applies the store rules within one source: a target implies redis, and must be unique. */
function storeChoice(layer: Layer): StoreChoice {
  const { values } = layer;
  const type = values["store.type"];
  const hasCluster = values["store.cluster"] !== undefined;
  let hasUrl = values["store.url"] !== undefined;
  // REDIS_URL is set for other tools too, so it gives way instead of contradicting.
  if (hasUrl && layer.borrowed("store.url") && (hasCluster || type === "memory")) hasUrl = false;
  if (hasUrl && hasCluster) {
    throw new ConfigError(
      `${layer.where("store.url")}: cannot be combined with ${layer.spell("store.cluster")}` +
        " (store.url and store.cluster are exclusive)",
    );
  }
  const target = hasUrl ? "store.url" : hasCluster ? "store.cluster" : undefined;
  if (type === "memory" && target !== undefined) {
    throw new ConfigError(
      `${layer.where("store.type")}: "memory" contradicts ${layer.spell(target)} in the same source`,
    );
  }
  return { layer, type: type ?? (target ? "redis" : undefined), target };
}

/** Certificate and key come as a pair, each from whichever source is strongest for it. */
function tlsFiles(layers: readonly Layer[]): Config["security"]["tls"] {
  const find = (path: "security.tlsCert" | "security.tlsKey") =>
    layers.find((l) => l.values[path] !== undefined);
  const cert = find("security.tlsCert");
  const key = find("security.tlsKey");
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    const [given, missing] = cert ? [cert, "security.tlsKey"] : [key as Layer, "security.tlsCert"];
    const path = cert ? "security.tlsCert" : "security.tlsKey";
    throw new ConfigError(`${given.where(path)}: TLS needs ${missing} as well`);
  }
  return {
    cert: cert.values["security.tlsCert"] as string,
    key: key.values["security.tlsKey"] as string,
  };
}

/**
 * Reads flags, environment and the optional config file, strongest first, into a checked
 * `Config`. Every value given is checked, even one a stronger source overrides.
 * @throws ConfigError on any unknown, malformed or contradictory setting.
 */
export function loadConfig(sources: ConfigSources): Config {
  const flags = flagLayer(sources.argv);
  const layers = [flags.layer, envLayer(sources.env)];
  const file = flags.configPath ?? sources.env[CONFIG_ENV];
  if (file !== undefined) {
    if (file === "") throw new ConfigError(`environment ${CONFIG_ENV}: missing value`);
    layers.push(fileLayer(file, sources.readFile ?? ((p) => readFileSync(p, "utf8"))));
  }

  const pick = <P extends Path>(path: P, from: readonly Layer[] = layers): Value<P> => {
    const layer = from.find((l) => l.values[path] !== undefined);
    // Only settings with a default are picked without a guard.
    return (layer?.values[path] ?? setting(path).default) as Value<P>;
  };

  const choices = layers.map(storeChoice);
  const typed = choices.find((c) => c.type !== undefined);
  let store: StoreConfig = { type: "memory", maxMemory: pick("store.maxMemory") };
  if (typed?.type === "redis") {
    // A limit that silently did nothing would be worse than none: Redis sizes itself.
    const limited = layers.find((l) => l.values["store.maxMemory"] !== undefined);
    if (limited !== undefined) {
      throw new ConfigError(
        `${limited.where("store.maxMemory")}: applies to the memory store only, and the store is redis` +
          " (set Redis's own maxmemory instead)",
      );
    }
    const targeted = choices.find((c) => c.target !== undefined);
    if (targeted?.target === undefined) {
      throw new ConfigError(
        `${typed.layer.where("store.type")}: store type "redis" needs store.url or store.cluster`,
      );
    }
    const commandTimeout = pick("store.commandTimeout");
    store =
      targeted.target === "store.url"
        ? { type: "redis", url: pick("store.url", [targeted.layer]), commandTimeout }
        : { type: "redis", cluster: pick("store.cluster", [targeted.layer]), commandTimeout };
  }

  return {
    kv: { ip: pick("kv.ip"), port: pick("kv.port"), maxPayload: pick("kv.maxPayload") },
    store,
    limits: {
      maxBacklog: pick("limits.maxBacklog"),
      maxInFlight: pick("limits.maxInFlight"),
      maxWatches: pick("limits.maxWatches"),
      idleTimeout: pick("limits.idleTimeout"),
      maxConnections: pick("limits.maxConnections"),
      drainTimeout: pick("limits.drainTimeout"),
    },
    security: {
      token: pick("security.token"),
      tls: tlsFiles(layers),
      origins: pick("security.origins"),
    },
    log: { level: pick("log.level") },
  };
}
