import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../../src/config/config.ts";
import { ConfigError, loadConfig } from "../../src/config/load.ts";

const FILE = "/etc/kvfleet/test.json";

type Env = Record<string, string | undefined>;

/** Loads with an in-memory config file at FILE when `file` is given (objects are serialized). */
function load(argv: string[] = [], env: Env = {}, file?: unknown): Config {
  const text = typeof file === "string" ? file : JSON.stringify(file);
  const withFile = file === undefined ? argv : [`--config=${FILE}`, ...argv];
  return loadConfig({
    argv: withFile,
    env,
    readFile: (path) => {
      if (path !== FILE) throw new Error(`unexpected read of ${path}`);
      return text;
    },
  });
}

/** The ConfigError message `run` throws; fails the test when it throws nothing or another error. */
function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const message = (e as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a ConfigError, got none");
}

const DEFAULTS: Config = {
  kv: { ip: "127.0.0.1", port: 1987, maxPayload: 1024 },
  store: { type: "memory", maxMemory: 0 },
  limits: {
    maxBacklog: 4194304,
    maxInFlight: 512,
    maxWatches: 1000,
    idleTimeout: 180,
    maxConnections: 10000,
    drainTimeout: 20,
  },
  security: { origins: [] },
  log: { level: "info" },
};

describe("defaults", () => {
  test("no sources give the documented defaults", () => {
    expect(load()).toEqual(DEFAULTS);
  });

  test("unrelated environment variables are ignored", () => {
    expect(load([], { PATH: "/bin", PORT: "80", HOME: "/root" })).toEqual(DEFAULTS);
  });

  test("an empty file object keeps the defaults", () => {
    expect(load([], {}, {})).toEqual(DEFAULTS);
    expect(load([], {}, { version: 1, kv: {}, limits: {} })).toEqual(DEFAULTS);
  });
});

describe("config file", () => {
  test("reads every section", () => {
    const config = load(
      [],
      {},
      {
        version: 1,
        kv: { ip: "0.0.0.0", port: 0, maxPayload: 2097152 },
        store: { type: "redis", url: "redis://db:6379/0", commandTimeout: 250 },
        limits: {
          maxBacklog: 1024,
          maxInFlight: 7,
          maxWatches: 3,
          idleTimeout: 960,
          maxConnections: 5,
          drainTimeout: 3600,
        },
        security: { token: "t".repeat(16), origins: ["https://app.example.com"] },
        log: { level: "debug" },
      },
    );
    expect(config).toEqual({
      kv: { ip: "0.0.0.0", port: 0, maxPayload: 2097152 },
      store: { type: "redis", url: "redis://db:6379/0", commandTimeout: 250 },
      limits: {
        maxBacklog: 1024,
        maxInFlight: 7,
        maxWatches: 3,
        idleTimeout: 960,
        maxConnections: 5,
        drainTimeout: 3600,
      },
      security: { token: "t".repeat(16), origins: ["https://app.example.com"] },
      log: { level: "debug" },
    });
  });

  test("a real file via --config FILE, --config=FILE and KVFLEET_CONFIG", () => {
    const dir = mkdtempSync(join(tmpdir(), "kvfleet-config-"));
    try {
      const path = join(dir, "kvfleet.json");
      writeFileSync(path, JSON.stringify({ kv: { port: 4000 } }));
      expect(loadConfig({ argv: ["--config", path], env: {} }).kv.port).toBe(4000);
      expect(loadConfig({ argv: [`--config=${path}`], env: {} }).kv.port).toBe(4000);
      expect(loadConfig({ argv: [], env: { KVFLEET_CONFIG: path } }).kv.port).toBe(4000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--config beats KVFLEET_CONFIG", () => {
    const config = load([], { KVFLEET_CONFIG: "/nonexistent/other.json" }, { kv: { port: 5 } });
    expect(config.kv.port).toBe(5);
  });

  test("an unreadable file names the file and the reason", () => {
    const dir = mkdtempSync(join(tmpdir(), "kvfleet-config-"));
    try {
      const path = join(dir, "missing.json");
      const message = errorOf(() => loadConfig({ argv: [`--config=${path}`], env: {} }));
      expect(message).toStartWith(`config file ${path}: cannot read: ENOENT`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("invalid JSON", () => {
    expect(errorOf(() => load([], {}, '{"kv": {'))).toStartWith(
      `config file ${FILE}: invalid JSON: `,
    );
  });

  test("the top level must be an object", () => {
    expect(errorOf(() => load([], {}, [1]))).toBe(
      `config file ${FILE}: top level: expected an object, got an array`,
    );
  });

  test("a section must be an object", () => {
    expect(errorOf(() => load([], {}, { kv: 5 }))).toBe(
      `config file ${FILE}: kv: expected an object, got a number`,
    );
  });

  test("version must be exactly 1", () => {
    expect(errorOf(() => load([], {}, { version: 2 }))).toBe(
      `config file ${FILE}: version: expected 1, got 2`,
    );
    expect(errorOf(() => load([], {}, { version: "1" }))).toBe(
      `config file ${FILE}: version: expected 1, got "1"`,
    );
  });

  test.each([
    [{ kv: { prot: 1 } }, "kv.prot"],
    [{ kv: { port: 1 }, limits: { idle: 1 } }, "limits.idle"],
    [{ security: { tls: {} } }, "security.tls"],
    [{ metrics: {} }, "metrics"],
    [{ port: 1987 }, "port"],
    [{ "kv.port": 1987 }, '"kv.port"'],
    [{ toString: 1 }, "toString"],
    [{ kv: { version: 1 } }, "kv.version"],
  ])("unknown field %j", (file, field) => {
    expect(errorOf(() => load([], {}, file))).toBe(`config file ${FILE}: unknown field ${field}`);
  });

  test.each([
    [{ kv: { port: 70000 } }, "kv.port: expected an integer from 0 to 65535, got 70000"],
    [{ kv: { port: "1987" } }, 'kv.port: expected an integer from 0 to 65535, got "1987"'],
    [{ kv: { port: 19.5 } }, "kv.port: expected an integer from 0 to 65535, got 19.5"],
    [{ kv: { port: null } }, "kv.port: expected an integer from 0 to 65535, got null"],
    [{ kv: { maxPayload: 63 } }, "kv.maxPayload: expected an integer from 64 to 2097152, got 63"],
    [{ kv: { ip: 127 } }, "kv.ip: expected an IP address or a hostname, got 127"],
    [{ store: { type: "disk" } }, 'store.type: expected "memory" or "redis", got "disk"'],
    [
      { store: { url: "redis://h", commandTimeout: 5 } },
      "store.commandTimeout: expected an integer from 10 to 60000, got 5",
    ],
    [
      { limits: { maxBacklog: [1] } },
      "limits.maxBacklog: expected an integer from 1024 to 1073741824, got an array",
    ],
    [
      { limits: { idleTimeout: 7 } },
      "limits.idleTimeout: expected an integer from 8 to 960, got 7",
    ],
    [
      { store: { cluster: "redis://h" } },
      "store.cluster: expected a non-empty list of redis:// or rediss:// URLs, got a string",
    ],
    [
      { store: { cluster: [] } },
      "store.cluster: expected a non-empty list of redis:// or rediss:// URLs, got an empty list",
    ],
  ])("rejects %j", (file, message) => {
    expect(errorOf(() => load([], {}, file))).toBe(`config file ${FILE}: ${message}`);
  });
});

describe("environment", () => {
  test("reads several fields", () => {
    const config = load([], {
      KVFLEET_IP: "::",
      KVFLEET_PORT: "8080",
      KVFLEET_MAX_PAYLOAD: "4096",
      KVFLEET_MAX_BACKLOG: "2048",
      KVFLEET_IDLE_TIMEOUT: "30",
    });
    expect(config).toEqual({
      kv: { ip: "::", port: 8080, maxPayload: 4096 },
      store: { type: "memory", maxMemory: 0 },
      limits: { ...DEFAULTS.limits, maxBacklog: 2048, idleTimeout: 30 },
      security: DEFAULTS.security,
      log: DEFAULTS.log,
    });
  });

  test("a Kubernetes service link in KVFLEET_PORT is an invalid value", () => {
    expect(errorOf(() => load([], { KVFLEET_PORT: "tcp://10.0.0.1:1987" }))).toBe(
      'environment KVFLEET_PORT: expected an integer from 0 to 65535, got "tcp://10.0.0.1:1987"',
    );
  });

  // Port accepts 0, so each of these would pass if it were read with Number().
  test.each(["12abc", "1e3", "", " 5", "5 ", "0x10", "+5", "1.0", "-0"])(
    "integers must be plain digits, not %j",
    (value) => {
      expect(errorOf(() => load([], { KVFLEET_PORT: value }))).toBe(
        `environment KVFLEET_PORT: expected an integer from 0 to 65535, got ${JSON.stringify(value)}`,
      );
    },
  );

  test("leading zeros are still plain digits", () => {
    expect(load([], { KVFLEET_PORT: "0080" }).kv.port).toBe(80);
  });

  test("unknown KVFLEET_ variables are rejected by name", () => {
    expect(errorOf(() => load([], { KVFLEET_PROT: "1" }))).toStartWith(
      "environment KVFLEET_PROT: unknown variable",
    );
    expect(errorOf(() => load([], { KVFLEET_PORT_1987_TCP_ADDR: "10.0.0.1" }))).toStartWith(
      "environment KVFLEET_PORT_1987_TCP_ADDR: unknown variable",
    );
  });

  test("an empty KVFLEET_CONFIG is an error", () => {
    expect(errorOf(() => load([], { KVFLEET_CONFIG: "" }))).toBe(
      "environment KVFLEET_CONFIG: missing value",
    );
  });
});

describe("flags", () => {
  test("--x=v and --x v forms", () => {
    const config = load(["--port=2000", "--ip", "db.internal", "--max-payload", "2048"]);
    expect(config.kv).toEqual({ ip: "db.internal", port: 2000, maxPayload: 2048 });
    expect(load(["--idle-timeout", "9", "--max-backlog=4096"]).limits).toEqual({
      ...DEFAULTS.limits,
      maxBacklog: 4096,
      idleTimeout: 9,
    });
  });

  test("a repeated flag takes its last value", () => {
    expect(load(["--port=1", "--port", "2"]).kv.port).toBe(2);
  });

  test("an out-of-range value quotes the text given", () => {
    expect(errorOf(() => load(["--max-payload=10"]))).toBe(
      'flag --max-payload: expected an integer from 64 to 2097152, got "10"',
    );
    expect(errorOf(() => load(["--port", "12abc"]))).toBe(
      'flag --port: expected an integer from 0 to 65535, got "12abc"',
    );
  });

  test("unknown flags are named", () => {
    expect(errorOf(() => load(["--prot=1"]))).toBe("flag --prot: unknown flag");
    expect(errorOf(() => load(["--verbose"]))).toBe("flag --verbose: unknown flag");
    expect(errorOf(() => load(["-p", "1"]))).toBe("flag -p: unknown flag");
  });

  test("a flag missing its value", () => {
    expect(errorOf(() => load(["--port"]))).toBe("flag --port: missing value");
    expect(errorOf(() => load(["--port", "--ip=::1"]))).toBe("flag --port: missing value");
    expect(errorOf(() => load(["--config"]))).toBe("flag --config: missing value");
    expect(errorOf(() => load(["--config="]))).toBe("flag --config: missing value");
  });

  test("an empty --x= value is checked like any other", () => {
    expect(errorOf(() => load(["--ip="]))).toBe(
      'flag --ip: expected an IP address or a hostname, got ""',
    );
  });

  test("positional arguments are rejected without echoing them", () => {
    const message = errorOf(() => load(["--port=1", "redis://:hunter2@db"]));
    expect(message).toBe("argument 2: unexpected argument (flags start with --)");
  });
});

describe("kv.ip", () => {
  test.each(["127.0.0.1", "0.0.0.0", "::", "::1", "fe80::1", "localhost", "redis-1.svc.local."])(
    "accepts %s",
    (ip) => {
      expect(load(["--ip", ip]).kv.ip).toBe(ip);
    },
  );

  test.each(["http://host", "my host", "999.1.1.1", "[::1]", "host:80", "-bad"])(
    "rejects %j",
    (ip) => {
      expect(errorOf(() => load([], { KVFLEET_IP: ip }))).toBe(
        `environment KVFLEET_IP: expected an IP address or a hostname, got ${JSON.stringify(ip)}`,
      );
    },
  );
});

describe("precedence", () => {
  const file = { kv: { ip: "file.host", port: 1, maxPayload: 100 }, limits: { idleTimeout: 10 } };
  const env = { KVFLEET_PORT: "2", KVFLEET_MAX_PAYLOAD: "200" };

  test("flags > environment > file > defaults, per field", () => {
    const config = load(["--port=3"], env, file);
    expect(config.kv).toEqual({ ip: "file.host", port: 3, maxPayload: 200 });
    expect(config.limits).toEqual({ ...DEFAULTS.limits, idleTimeout: 10 });
  });

  test("environment beats file", () => {
    expect(load([], env, file).kv.port).toBe(2);
  });

  test("an overridden value is still checked", () => {
    expect(errorOf(() => load(["--port=3"], {}, { kv: { port: 70000 } }))).toBe(
      `config file ${FILE}: kv.port: expected an integer from 0 to 65535, got 70000`,
    );
  });
});

describe("store", () => {
  test("REDIS_URL alone selects redis", () => {
    expect(load([], { REDIS_URL: "redis://cache:6379" }).store).toEqual({
      type: "redis",
      url: "redis://cache:6379",
      commandTimeout: 1000,
    });
  });

  test("KVFLEET_REDIS_URL wins over REDIS_URL", () => {
    const env = { REDIS_URL: "redis://other", KVFLEET_REDIS_URL: "rediss://mine:6380" };
    expect(load([], env).store).toEqual({
      type: "redis",
      url: "rediss://mine:6380",
      commandTimeout: 1000,
    });
  });

  test("--store=memory beats REDIS_URL", () => {
    expect(load(["--store=memory"], { REDIS_URL: "redis://cache" }).store).toEqual({
      type: "memory",
      maxMemory: 0,
    });
  });

  test("KVFLEET_STORE=memory beside REDIS_URL gives memory", () => {
    const env = { KVFLEET_STORE: "memory", REDIS_URL: "redis://cache" };
    expect(load([], env).store).toEqual({ type: "memory", maxMemory: 0 });
  });

  test("memory from a stronger source drops a weaker source's redis settings", () => {
    const file = { store: { type: "redis", url: "redis://db", commandTimeout: 50 } };
    expect(load([], { KVFLEET_STORE: "memory" }, file).store).toEqual({
      type: "memory",
      maxMemory: 0,
    });
  });

  test("file cluster + environment REDIS_URL gives the url", () => {
    const file = { store: { cluster: ["redis://a:7000", "redis://b:7000"] } };
    expect(load([], { REDIS_URL: "redis://single" }, file).store).toEqual({
      type: "redis",
      url: "redis://single",
      commandTimeout: 1000,
    });
  });

  test("a cluster from the file, command timeout from the environment", () => {
    const file = { store: { type: "redis", cluster: ["redis://a:7000", "rediss://b:7000"] } };
    expect(load([], { KVFLEET_COMMAND_TIMEOUT: "60000" }, file).store).toEqual({
      type: "redis",
      cluster: ["redis://a:7000", "rediss://b:7000"],
      commandTimeout: 60000,
    });
  });

  test("a comma-separated cluster from a flag", () => {
    expect(load(["--redis-cluster", "redis://a:7000, redis://b:7001"]).store).toEqual({
      type: "redis",
      cluster: ["redis://a:7000", "redis://b:7001"],
      commandTimeout: 1000,
    });
  });

  test("KVFLEET_REDIS_CLUSTER beside REDIS_URL gives the cluster", () => {
    const env = { KVFLEET_REDIS_CLUSTER: "redis://a:7000", REDIS_URL: "redis://single" };
    expect(load([], env).store).toEqual({
      type: "redis",
      cluster: ["redis://a:7000"],
      commandTimeout: 1000,
    });
  });

  test("--store=redis takes its target from a weaker source", () => {
    expect(load(["--store=redis"], {}, { store: { url: "redis://db" } }).store).toEqual({
      type: "redis",
      url: "redis://db",
      commandTimeout: 1000,
    });
  });

  test("url and cluster in one source are an error", () => {
    expect(errorOf(() => load(["--redis-url=redis://a", "--redis-cluster=redis://b"]))).toBe(
      "flag --redis-url: cannot be combined with --redis-cluster (store.url and store.cluster are exclusive)",
    );
    const env = { KVFLEET_REDIS_URL: "redis://a", KVFLEET_REDIS_CLUSTER: "redis://b" };
    expect(errorOf(() => load([], env))).toStartWith(
      "environment KVFLEET_REDIS_URL: cannot be combined with KVFLEET_REDIS_CLUSTER",
    );
    const file = { store: { url: "redis://a", cluster: ["redis://b"] } };
    expect(errorOf(() => load([], {}, file))).toStartWith(
      `config file ${FILE}: store.url: cannot be combined with store.cluster`,
    );
  });

  test("memory with a target in the same source is an error", () => {
    const file = { store: { type: "memory", url: "redis://a" } };
    expect(errorOf(() => load([], {}, file))).toBe(
      `config file ${FILE}: store.type: "memory" contradicts store.url in the same source`,
    );
    expect(errorOf(() => load(["--store=memory", "--redis-cluster=redis://a"]))).toBe(
      'flag --store: "memory" contradicts --redis-cluster in the same source',
    );
  });

  test("redis without a target is an error naming store.url and store.cluster", () => {
    expect(errorOf(() => load(["--store=redis"]))).toBe(
      'flag --store: store type "redis" needs store.url or store.cluster',
    );
    expect(errorOf(() => load([], {}, { store: { type: "redis" } }))).toBe(
      `config file ${FILE}: store.type: store type "redis" needs store.url or store.cluster`,
    );
  });

  test("an unknown store type", () => {
    expect(errorOf(() => load([], { KVFLEET_STORE: "Redis" }))).toBe(
      'environment KVFLEET_STORE: expected "memory" or "redis", got "Redis"',
    );
  });

  describe("invalid redis URLs are described, never echoed", () => {
    test.each([
      ["http://user:s3cret@db:6379", "got a URL with scheme http:"],
      ["s3cret", "got a value that is not a URL"],
      ["redis://", "got a URL without a host"],
    ])("%s", (url, why) => {
      const fromFlag = errorOf(() => load([`--redis-url=${url}`]));
      expect(fromFlag).toBe(`flag --redis-url: expected a redis:// or rediss:// URL, ${why}`);
      const fromEnv = errorOf(() => load([], { REDIS_URL: url }));
      expect(fromEnv).toBe(`environment REDIS_URL: expected a redis:// or rediss:// URL, ${why}`);
      expect(fromEnv).not.toContain("s3cret");
    });

    test("a bad cluster item is numbered", () => {
      const file = { store: { cluster: ["redis://a", "https://:s3cret@b"] } };
      const message = errorOf(() => load([], {}, file));
      expect(message).toBe(
        `config file ${FILE}: store.cluster: item 2 of 2: expected a redis:// or rediss:// URL, got a URL with scheme https:`,
      );
      expect(message).not.toContain("s3cret");
    });

    test("an empty cluster entry from the environment", () => {
      expect(errorOf(() => load([], { KVFLEET_REDIS_CLUSTER: "redis://a,,redis://b" }))).toBe(
        "environment KVFLEET_REDIS_CLUSTER: item 2 of 3: expected a redis:// or rediss:// URL, got a value that is not a URL",
      );
    });
  });
});

describe("store.maxMemory", () => {
  const EXPECTED =
    "expected a byte count such as 805306368 or 768Mi (suffixes Ki, Mi, Gi, k, M, G), at most 1024Gi";

  test.each([
    ["0", 0],
    ["4194304", 4194304],
    ["0080", 80],
    ["4Ki", 4096],
    ["768Mi", 805306368],
    ["2Gi", 2147483648],
    ["1024Gi", 2 ** 40],
    ["5k", 5000],
    ["3M", 3000000],
    ["1G", 1000000000],
  ])("--max-memory=%s is %d bytes", (text, bytes) => {
    expect(load([`--max-memory=${text}`]).store).toEqual({ type: "memory", maxMemory: bytes });
  });

  test("from the environment, and from the file as a number or a string", () => {
    expect(load([], { KVFLEET_MAX_MEMORY: "768Mi" }).store).toEqual({
      type: "memory",
      maxMemory: 805306368,
    });
    expect(load([], {}, { store: { maxMemory: 805306368 } }).store).toEqual({
      type: "memory",
      maxMemory: 805306368,
    });
    expect(load([], {}, { store: { type: "memory", maxMemory: "1Gi" } }).store).toEqual({
      type: "memory",
      maxMemory: 2 ** 30,
    });
  });

  test("flags > environment > file", () => {
    const file = { store: { maxMemory: "1Mi" } };
    const env = { KVFLEET_MAX_MEMORY: "2Mi" };
    expect(load(["--max-memory=3Mi"], env, file).store).toEqual({
      type: "memory",
      maxMemory: 3 * 2 ** 20,
    });
    expect(load([], env, file).store).toEqual({ type: "memory", maxMemory: 2 * 2 ** 20 });
  });

  // "768m" is Kubernetes for 0.768 bytes, a classic slip for 768Mi.
  test.each([
    "768m",
    "768MiB",
    "768 Mi",
    " 1Mi",
    "1.5Gi",
    "-1",
    "",
    "1Ti",
    "1025Gi",
    "0x10",
    "1e9",
    "Mi",
  ])("rejects %j from text, naming the field", (text) => {
    expect(errorOf(() => load([`--max-memory=${text}`]))).toBe(
      `flag --max-memory: ${EXPECTED}, got ${JSON.stringify(text)}`,
    );
    expect(errorOf(() => load([], { KVFLEET_MAX_MEMORY: text }))).toBe(
      `environment KVFLEET_MAX_MEMORY: ${EXPECTED}, got ${JSON.stringify(text)}`,
    );
  });

  test.each([
    [-1, "-1"],
    [1.5, "1.5"],
    [2 ** 40 + 1, "1099511627777"],
    [true, "true"],
    [null, "null"],
    ["768m", '"768m"'],
    [[1], "an array"],
  ])("rejects %j in the file", (value, shown) => {
    expect(errorOf(() => load([], {}, { store: { maxMemory: value } }))).toBe(
      `config file ${FILE}: store.maxMemory: ${EXPECTED}, got ${shown}`,
    );
  });

  test("with the Redis store it is an error naming where it was given, even 0", () => {
    const why =
      "applies to the memory store only, and the store is redis (set Redis's own maxmemory instead)";
    expect(errorOf(() => load(["--max-memory=768Mi", "--redis-url=redis://db"]))).toBe(
      `flag --max-memory: ${why}`,
    );
    expect(errorOf(() => load([], { KVFLEET_MAX_MEMORY: "1Gi", REDIS_URL: "redis://db" }))).toBe(
      `environment KVFLEET_MAX_MEMORY: ${why}`,
    );
    const file = { store: { type: "redis", url: "redis://db", maxMemory: 0 } };
    expect(errorOf(() => load([], {}, file))).toBe(`config file ${FILE}: store.maxMemory: ${why}`);
    // The file's limit meets a Redis chosen by a stronger source.
    expect(
      errorOf(() => load(["--redis-cluster=redis://a:7000"], {}, { store: { maxMemory: "1Gi" } })),
    ).toBe(`config file ${FILE}: store.maxMemory: ${why}`);
  });

  test("memory chosen beside REDIS_URL keeps the limit", () => {
    const env = { KVFLEET_STORE: "memory", REDIS_URL: "redis://cache", KVFLEET_MAX_MEMORY: "64Mi" };
    expect(load([], env).store).toEqual({ type: "memory", maxMemory: 64 * 2 ** 20 });
  });
});

describe("security and logging", () => {
  const dir = mkdtempSync(join(tmpdir(), "kvfleet-tls-"));
  afterAll(() => rmSync(dir, { recursive: true }));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  writeFileSync(cert, "cert");
  writeFileSync(key, "key");

  test("the token comes from the file or KVFLEET_TOKEN, never a flag", () => {
    const token = "s3cret-token-0123456789";
    expect(load([], { KVFLEET_TOKEN: token }).security.token).toBe(token);
    expect(load([], {}, { security: { token } }).security.token).toBe(token);
    expect(errorOf(() => load([`--token=${token}`]))).toBe("flag --token: unknown flag");
  });

  test("a short or spaced token is refused without echoing it", () => {
    const message = errorOf(() => load([], { KVFLEET_TOKEN: "short secret" }));
    expect(message).toStartWith("environment KVFLEET_TOKEN: expected a token of 16");
    expect(message).toContain("got 12 characters");
    expect(message).not.toContain("secret");
  });

  test("TLS needs a readable certificate and key, both", () => {
    expect(load([`--tls-cert=${cert}`], { KVFLEET_TLS_KEY: key }).security.tls).toEqual({
      cert,
      key,
    });
    expect(errorOf(() => load([`--tls-cert=${cert}`]))).toBe(
      "flag --tls-cert: TLS needs security.tlsKey as well",
    );
    expect(errorOf(() => load([], { KVFLEET_TLS_KEY: join(dir, "missing.pem") }))).toStartWith(
      "environment KVFLEET_TLS_KEY: cannot read file",
    );
  });

  test("origins are exact origins, from a list or comma-separated", () => {
    expect(load(["--origins=https://a.example, http://b.example:8080"]).security.origins).toEqual([
      "https://a.example",
      "http://b.example:8080",
    ]);
    expect(errorOf(() => load([], {}, { security: { origins: ["https://a.example/"] } }))).toBe(
      `config file ${FILE}: security.origins: expected a list of origins such as https://app.example.com, item 1 of 1 is "https://a.example/"`,
    );
  });

  test("connection limit, drain timeout and log level", () => {
    const config = load(["--max-connections=2", "--drain-timeout=5"], {
      KVFLEET_LOG_LEVEL: "warn",
    });
    expect(config.limits.maxConnections).toBe(2);
    expect(config.limits.drainTimeout).toBe(5);
    expect(config.log.level).toBe("warn");
    expect(errorOf(() => load(["--log-level=verbose"]))).toBe(
      'flag --log-level: expected "debug" or "info" or "warn" or "error", got "verbose"',
    );
    expect(errorOf(() => load(["--max-connections=0"]))).toStartWith(
      "flag --max-connections: expected an integer from 1",
    );
  });
});
