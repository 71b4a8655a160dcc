import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { CONFIG_ENV, CONFIG_FLAG, SETTINGS, type Setting } from "../../src/config/settings.ts";
import { TestClient } from "../support/client.ts";
import { runServer, spawnServer } from "../support/server.ts";

const dir = mkdtempSync(join(tmpdir(), "kvfleet-startup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe("start-up", () => {
  test("prints the start line first: version, address, store, maxPayload; and serves the config file's settings", async () => {
    const path = configFile(
      "good.json",
      '{"version":1,"kv":{"ip":"127.0.0.1","port":0,"maxPayload":4096}}',
    );
    const server = await spawnServer({ args: [`--config=${path}`] });
    try {
      const lines = server.output().trim().split("\n");
      const line = JSON.parse(lines[0] as string);
      // The memory store reports itself up once, after the start line.
      expect(lines.slice(1).map((l) => JSON.parse(l).event)).toEqual(
        lines.length > 1 ? ["store up"] : [],
      );
      expect(line).toMatchObject({
        level: "info",
        event: "listening",
        version: pkg.version,
        url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/$/),
        store: "memory",
        maxPayload: 4096,
      });
      expect(Date.parse(line.time)).toBeGreaterThan(0);
      const client = await TestClient.open(server.url);
      client.send(`{"KV_SET":{"k":"${"x".repeat(3000)}"}}`);
      expect(await client.next()).toEqual({ KV_SET_RSP: { st: 20, k: "k" } });
      client.close();
    } finally {
      await server.stop();
    }
  });

  test("a token from the environment is in neither stdout nor stderr, the start line's config included", async () => {
    const token = "start-line-token-never-printed";
    const server = await spawnServer({ env: { KVFLEET_TOKEN: token } });
    await server.stop();
    expect(server.started.config).toMatchObject({ security: { token: "(hidden)" } });
    expect(server.output()).toContain('"event":"listening"');
    expect(server.output()).not.toContain(token);
  });

  test("flags beat the environment, which beats the file", async () => {
    const path = configFile("precedence.json", '{"version":1,"kv":{"maxPayload":2000}}');
    const server = await spawnServer({
      args: [`--config=${path}`, "--max-payload=3000"],
      env: { KVFLEET_MAX_PAYLOAD: "2500" },
    });
    await server.stop();
    expect(server.started.maxPayload).toBe(3000);
    const fromEnv = await spawnServer({
      args: [`--config=${path}`],
      env: { KVFLEET_MAX_PAYLOAD: "2500" },
    });
    await fromEnv.stop();
    expect(fromEnv.started.maxPayload).toBe(2500);
  });

  const failures: [string, () => { args: string[]; env?: Record<string, string> }, RegExp][] = [
    [
      "a missing file",
      () => ({ args: [`--config=${join(dir, "absent.json")}`] }),
      /absent\.json.*cannot read/,
    ],
    [
      "invalid JSON",
      () => ({ args: [`--config=${configFile("bad.json", "{nope")}`] }),
      /bad\.json.*invalid JSON/,
    ],
    [
      "a wrong version",
      () => ({ args: [`--config=${configFile("v2.json", '{"version":2}')}`] }),
      /v2\.json.*version/,
    ],
    [
      "an unknown field",
      () => ({ args: [`--config=${configFile("unknown.json", '{"version":1,"kv":{"prot":1}}')}`] }),
      /unknown\.json.*kv\.prot/,
    ],
    [
      "a value out of range",
      () => ({
        args: [`--config=${configFile("range.json", '{"version":1,"kv":{"maxPayload":10}}')}`],
      }),
      /range\.json.*kv\.maxPayload/,
    ],
    [
      "a value of the wrong type",
      () => ({
        args: [`--config=${configFile("type.json", '{"version":1,"kv":{"port":"1987"}}')}`],
      }),
      /type\.json.*kv\.port/,
    ],
    [
      "a bad environment value",
      () => ({ args: [], env: { KVFLEET_PORT: "tcp://10.0.0.1:1987" } }),
      /KVFLEET_PORT/,
    ],
    ["an unknown flag", () => ({ args: ["--prot=1"] }), /--prot/],
    ["a flag that only starts like --help", () => ({ args: ["--helpme"] }), /--helpme/],
    [
      "a memory limit beside the Redis store",
      () => ({ args: ["--max-memory=768Mi"], env: { REDIS_URL: "redis://127.0.0.1:1" } }),
      /--max-memory: applies to the memory store only/,
    ],
  ];
  for (const [label, make, message] of failures) {
    test(`${label} stops the server with exit code 2 and a one-line message naming it`, async () => {
      const { args, env } = make();
      const result = await runServer(args, env);
      expect(result.code).toBe(2);
      const lines = result.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith("kvfleet: ");
      expect(lines[0]).toMatch(message);
      expect(result.stdout).toBe("");
    });
  }
});

describe("--help and --version", () => {
  test("--help prints one line per setting: flag, variables, default, meaning; exit 0", async () => {
    const { code, stdout, stderr } = await runServer(["--help"]);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    const lines = stdout.split("\n");
    for (const [path, row] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
      const [line, ...others] = lines.filter((l) => l.includes(row.doc));
      expect(others).toEqual([]);
      const words = (line ?? "").split(/[\s,]+/);
      expect(words).toContain(path);
      if (row.flag !== undefined) expect(words).toContain(`--${row.flag}`);
      else expect(words.some((w) => w.startsWith("--"))).toBe(false);
      for (const name of row.env) expect(words).toContain(name);
      if (row.default !== undefined) {
        const shown = typeof row.default === "string" ? row.default : JSON.stringify(row.default);
        expect(words).toContain(shown);
      }
      if (row.kind.describe !== undefined) expect(line).toContain(row.kind.describe);
    }
  });

  test("the help names the config file's flag and variable", async () => {
    const { stdout } = await runServer(["-h"]);
    expect(stdout).toContain(`--${CONFIG_FLAG}=FILE`);
    expect(stdout).toContain(CONFIG_ENV);
  });

  test("--help wins over other arguments, even invalid ones", async () => {
    const alone = await runServer(["--help"]);
    for (const args of [
      ["--port=nope", "--help"],
      ["-h", "--prot=1"],
      ["--version", "--help"],
    ]) {
      expect(await runServer(args)).toEqual(alone);
    }
  });

  test("--version prints the version and exits 0", async () => {
    expect(await runServer(["--version"])).toEqual({
      code: 0,
      stdout: `${pkg.version}\n`,
      stderr: "",
    });
  });
});
