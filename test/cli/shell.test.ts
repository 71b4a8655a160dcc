import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kvfleet, start } from "../support/cli.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { freePort } from "../support/redis.ts";

let node: TestNode;
let env: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), "kvfleet-shell-"));

beforeAll(() => {
  node = startNode();
  env = { KVFLEET_URL: node.url, KVFLEET_HISTORY: join(dir, "history") };
});
afterAll(async () => {
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the shell, fed through stdin", () => {
  test("runs each line as a command; JSON typed as written; errors are printed and it goes on", async () => {
    const script = [
      `set user:1 {"name": "Ada", "n": 18446744073709551617}`,
      "get user:1",
      `set "a key" "Ada"`,
      "get 'a key'",
      "add user:1 1",
      "nope",
      "get missing",
      "clear",
      "--json has user:1",
      "count --json",
      "quit",
      "count",
    ].join("\n");
    const ran = await kvfleet([], { stdin: script, env });
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe(
      [
        "created",
        '{"name":"Ada","n":18446744073709551617}',
        "created",
        '"Ada"',
        "exists",
        '{"key":"user:1","exists":true}',
        '{"count":2}',
        "",
      ].join("\n"),
    );
    expect(ran.stderr).toBe(
      [
        'kvfleet: unknown command "nope" (kvfleet --help lists them)',
        'kvfleet: "missing" not found',
        "kvfleet: clear removes every key of the store: confirm with --yes",
        "",
      ].join("\n"),
    );
  });

  test("--json at start makes every result a JSON line; help lists the commands", async () => {
    const ran = await kvfleet(["--json"], { stdin: "get user:1\nhelp\nhelp set\n", env });
    const [first, ...rest] = ran.stdout.split("\n");
    expect(first).toBe(
      '{"key":"user:1","found":true,"value":{"name":"Ada","n":18446744073709551617}}',
    );
    const help = rest.join("\n");
    for (const command of [
      "get KEY...",
      "set KEY [VALUE] [--ttl MS]",
      "watch [--prefix P] [--key K]",
    ]) {
      expect(help).toContain(command);
    }
    expect(help).toContain("Usage: kvfleet set KEY [VALUE] [--ttl MS]");
  });

  test("outlives a restart of its server: the next command goes to the new one", async () => {
    const port = freePort();
    let first: TestNode | undefined = startNode([`--port=${port}`]);
    const shell = start([], { env: { KVFLEET_URL: first.url } });
    let second: TestNode | undefined;
    try {
      shell.process.stdin.write("set a 1\n");
      await shell.until(({ stdout }) => stdout === "created\n");
      await first.stop();
      first = undefined;
      second = startNode([`--port=${port}`]);
      // A new memory store: "a" is gone there, which shows which server answered.
      shell.process.stdin.write("has a\nset a 2\n");
      await shell.until(({ stdout }) => stdout === "created\nno\ncreated\n");
      shell.process.stdin.end();
      expect(await shell.exited()).toBe(0);
    } finally {
      await shell.stop("SIGKILL");
      await first?.stop();
      await second?.stop();
    }
  });

  test("exits 3 when it cannot connect", async () => {
    const ran = await kvfleet([], {
      stdin: "count\n",
      env: { KVFLEET_URL: `ws://127.0.0.1:${freePort()}/` },
    });
    expect(ran).toMatchObject({ code: 3, stdout: "" });
  });
});

describe("the shell on a terminal", () => {
  test("prompts, keeps history across sessions, Ctrl-C ends a watch and then the shell", async () => {
    const first = start([], { env, terminal: true });
    const prompt = `${new URL(node.url).host}> `;
    const prompts = (n: number) => (out: { stdout: string }) => out.stdout.split(prompt).length > n;
    await first.until(prompts(1));
    first.process.stdin.write("set t 41\r");
    await first.until(prompts(2));
    first.process.stdin.write("watch --key t\r");
    await first.until(({ stdout }) => stdout.includes("kvfleet: watching"));
    await kvfleet(["set", "t", "42"], { env });
    await first.until(({ stdout }) => stdout.includes("set\tt\t42"));
    first.process.stdin.write("\x03");
    await first.until(prompts(3));
    first.process.stdin.write("get t\r");
    await first.until(({ stdout }) => /\n42\r?\n/.test(stdout) && prompts(4)({ stdout }));
    // Ctrl-C at the prompt leaves, as in redis-cli.
    first.process.stdin.write("\x03");
    expect(await first.exited()).toBe(0);
    expect(readFileSync(join(dir, "history"), "utf8")).toBe("set t 41\nwatch --key t\nget t\n");

    // The up arrow brings back the last line of the session before.
    const second = start([], { env, terminal: true });
    await second.until(prompts(1));
    second.process.stdin.write("\x1b[A\r");
    await second.until(({ stdout }) => /\n42\r?\n/.test(stdout));
    second.process.stdin.write("quit\r");
    expect(await second.exited()).toBe(0);
  });
});
