import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { BIN, kvfleet, type RunOptions } from "../support/cli.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { freePort } from "../support/redis.ts";
import { runToEnd } from "../support/server.ts";

let node: TestNode;
let env: Record<string, string>;

beforeAll(() => {
  node = startNode();
  env = { KVFLEET_URL: node.url };
});
afterAll(() => node.stop());

const run = (args: string[], options: RunOptions = {}) =>
  kvfleet(args, { ...options, env: { ...env, ...options.env } });

/** stdout's lines, without the final newline. */
const lines = (text: string) => text.replace(/\n$/, "").split("\n");

describe("kvfleet commands against a real server", () => {
  test("set creates then updates, get prints the value; a missing key exits 1 with nothing on stdout", async () => {
    expect(await run(["set", "user:1", '{"name":"Ada"}'])).toEqual({
      code: 0,
      stdout: "created\n",
      stderr: "",
    });
    expect((await run(["set", "user:1", '{"name":"Ada","id":1}'])).stdout).toBe("updated\n");
    expect(await run(["get", "user:1"])).toEqual({
      code: 0,
      stdout: '{"name":"Ada","id":1}\n',
      stderr: "",
    });
    const missing = await run(["get", "nobody"]);
    expect(missing).toEqual({ code: 1, stdout: "", stderr: 'kvfleet: "nobody" not found\n' });
  });

  test("numbers and member order pass through exactly, both ways, text and --json", async () => {
    const value = '{"n":18446744073709551617,"big":1e400,"f":0.1,"2":"b","1":"a","neg":-1}';
    expect((await run(["set", "exact", value])).code).toBe(0);
    expect((await run(["get", "exact"])).stdout).toBe(`${value}\n`);
    expect((await run(["--json", "get", "exact", "nobody"])).stdout).toBe(
      `{"key":"exact","found":true,"value":${value}}\n{"key":"nobody","found":false}\n`,
    );
    // A negative number as VALUE is a value, not a flag.
    expect((await run(["set", "minus", "-1"])).code).toBe(0);
    expect((await run(["get", "minus"])).stdout).toBe("-1\n");
  });

  test("VALUE from stdin, when absent or -", async () => {
    expect(await run(["set", "list"], { stdin: "[1, 2]\n" })).toMatchObject({
      code: 0,
      stdout: "created\n",
    });
    expect((await run(["append", "list", "-"], { stdin: "[3]" })).stdout).toBe("ok\n");
    expect((await run(["get", "list"])).stdout).toBe("[1,2,3]\n");
    const empty = await run(["set", "list"]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("the value on stdin is empty");
  });

  test("several keys: get and has print KEY<TAB>result lines, exit 1 when one is missing", async () => {
    await run(["set", "a", "1"]);
    const got = await run(["get", "a", "nope", "user:1"]);
    expect(got.code).toBe(1);
    expect(lines(got.stdout)).toEqual(["a\t1", 'user:1\t{"name":"Ada","id":1}']);
    expect(got.stderr).toBe('kvfleet: "nope" not found\n');
    expect(await run(["has", "a"])).toMatchObject({ code: 0, stdout: "yes\n" });
    const has = await run(["has", "a", "nope"]);
    expect(has).toMatchObject({ code: 1, stdout: "a\tyes\nnope\tno\n" });
  });

  test("add only adds: added (0), exists (1)", async () => {
    expect(await run(["add", "once", '"first"'])).toMatchObject({ code: 0, stdout: "added\n" });
    expect(await run(["add", "once", '"second"'])).toMatchObject({ code: 1, stdout: "exists\n" });
    expect((await run(["--json", "add", "once", "3"])).stdout).toBe(
      '{"key":"once","added":false}\n',
    );
    expect((await run(["get", "once"])).stdout).toBe('"first"\n');
  });

  test("rm removes, per key, exit 1 when one was not there", async () => {
    await run(["set", "r1", "1"]);
    const removed = await run(["rm", "r1", "r2"]);
    expect(removed).toMatchObject({ code: 1, stdout: "r1\tremoved\nr2\tnot found\n" });
    expect((await run(["--json", "rm", "r1"])).stdout).toBe('{"key":"r1","removed":false}\n');
    expect((await run(["has", "r1"])).code).toBe(1);
  });

  test("append: ok, missing and type-mismatch, the last two exit 1", async () => {
    await run(["set", "obj", '{"a":1}']);
    expect(await run(["append", "obj", '{"b":2}'])).toMatchObject({ code: 0, stdout: "ok\n" });
    expect(await run(["append", "nokey", "[1]"])).toMatchObject({ code: 1, stdout: "missing\n" });
    expect(await run(["append", "obj", "[1]"])).toMatchObject({
      code: 1,
      stdout: "type-mismatch\n",
    });
    expect((await run(["get", "obj"])).stdout).toBe('{"a":1,"b":2}\n');
  });

  test("ttl, expire, persist", async () => {
    expect((await run(["set", "session", "1", "--ttl", "60000"])).code).toBe(0);
    const left = await run(["ttl", "session"]);
    expect(left.code).toBe(0);
    expect(Number(left.stdout)).toBeGreaterThan(50_000);
    expect(Number(left.stdout)).toBeLessThanOrEqual(60_000);
    expect(await run(["persist", "session"])).toMatchObject({ code: 0, stdout: "ok\n" });
    expect(await run(["ttl", "session"])).toMatchObject({ code: 0, stdout: "never\n" });
    expect((await run(["--json", "ttl", "session"])).stdout).toBe(
      '{"key":"session","found":true,"ttl":null}\n',
    );
    expect(await run(["expire", "session", "30000"])).toMatchObject({ code: 0, stdout: "ok\n" });
    const json = JSON.parse((await run(["--json", "ttl", "session"])).stdout);
    expect(json.ttl).toBeGreaterThan(20_000);
    expect(json.ttl).toBeLessThanOrEqual(30_000);
    expect(await run(["ttl", "gone"])).toMatchObject({ code: 1, stdout: "" });
    expect(await run(["expire", "gone", "5"])).toMatchObject({ code: 1, stdout: "not found\n" });
    expect(await run(["persist", "gone"])).toMatchObject({ code: 1, stdout: "not found\n" });
  });

  test("keys pages through every key under a prefix; --limit stops early; --json", async () => {
    const many = Array.from({ length: 150 }, (_, i) => `page:${i}`);
    const setAll = many.map((k) => `set ${k} 1`).join("\n");
    expect((await run([], { stdin: setAll })).code).toBe(0);
    const listed = await run(["keys", "--prefix", "page:"]);
    expect(listed.code).toBe(0);
    expect(lines(listed.stdout).sort()).toEqual([...many].sort());
    expect(lines((await run(["keys", "--prefix=page:", "--limit", "7"])).stdout)).toHaveLength(7);
    const json = lines((await run(["--json", "keys", "--prefix", "page:1", "--limit=2"])).stdout);
    expect(json.map((l) => JSON.parse(l).key)).toEqual([
      expect.stringMatching(/^page:1/),
      expect.stringMatching(/^page:1/),
    ]);
  });

  test("a reader that stops early (| head) ends it quietly with 0, not a stack trace", async () => {
    await run(["set", "pipe:1", "1"]);
    // `true` is gone long before bun has started, so the first line meets a closed pipe.
    const piped = await runToEnd(["bash", "-c", `set -o pipefail; bun ${BIN} keys | true`], {
      env,
    });
    expect(piped).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("count, and clear only with --yes", async () => {
    const before = Number((await run(["count"])).stdout);
    expect(before).toBeGreaterThan(150);
    const refused = await run(["clear"]);
    expect(refused).toMatchObject({ code: 2, stdout: "" });
    expect(refused.stderr).toContain("--yes");
    expect(Number((await run(["count"])).stdout)).toBe(before);
    expect(await run(["clear", "--yes"])).toMatchObject({ code: 0, stdout: `${before}\n` });
    expect((await run(["--json", "count"])).stdout).toBe('{"count":0}\n');
  });

  test("info prints KV_SERVER_INFO", async () => {
    const text = await run(["info"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`version\t${pkg.version}\nqueries\t`);
    const json = JSON.parse((await run(["--json", "info"])).stdout);
    expect(json).toMatchObject({ version: pkg.version, protocols: [1, 2] });
  });
});

describe("exit codes", () => {
  test("1 with the server's reason when the store fails (100: the memory limit)", async () => {
    const full = startNode(["--max-memory=200"]);
    try {
      const refused = await kvfleet([
        "--url",
        full.url,
        "set",
        "k",
        JSON.stringify("x".repeat(300)),
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe("");
      expect(refused.stderr).toContain("100");
    } finally {
      await full.stop();
    }
  });

  test("3 when nobody listens, or the token is refused", async () => {
    const closed = await kvfleet(["count"], {
      env: { KVFLEET_URL: `ws://127.0.0.1:${freePort()}/` },
    });
    expect(closed.code).toBe(3);
    expect(closed.stdout).toBe("");
    expect(closed.stderr).toStartWith("kvfleet: ");
    const token = "cli-test-token-0123456789";
    const guarded = startNode([], { env: { KVFLEET_TOKEN: token } });
    try {
      const url = ["--url", guarded.url];
      expect((await kvfleet([...url, "count"])).code).toBe(3);
      const ok = await kvfleet([...url, "count"], { env: { KVFLEET_TOKEN: token } });
      expect(ok).toMatchObject({ code: 0, stdout: "0\n" });
    } finally {
      await guarded.stop();
    }
  });

  test("2 for bad usage, before connecting, with a message that says what is wrong", async () => {
    const cases: [string[], string][] = [
      [["nope"], 'unknown command "nope"'],
      [["get"], "KEY is missing"],
      [["expire", "k"], "MS is missing"],
      [["count", "extra"], "too many arguments"],
      [["set", "k", "Ada"], `VALUE is not JSON`],
      [["set", "k", "1", "--ttl", "0"], "--ttl must be a whole number from 1 to"],
      [["expire", "k", "1.5"], "MS must be a whole number"],
      [["get", "k", "--ttl", "5"], "get takes no --ttl"],
      [["get", "k", "--bogus"], "unknown flag --bogus"],
      [["watch"], "watch needs --prefix P or --key K"],
      [["keys", "--prefix", "a", "--prefix", "b"], "keys takes one --prefix"],
      [["--url", "http://127.0.0.1:1/", "count"], "--url must be a ws:// or wss:// URL"],
      [["--ttl", "5"], "--ttl needs a command"],
    ];
    // Nobody listens there: a usage error must come before any connection attempt.
    const unreachable = { KVFLEET_URL: `ws://127.0.0.1:${freePort()}/` };
    const results = await Promise.all(cases.map(([args]) => kvfleet(args, { env: unreachable })));
    results.forEach((result, i) => {
      const [args, message] = cases[i] as [string[], string];
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe("");
    });
  });
});
