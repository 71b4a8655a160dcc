import { describe, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { FLAGS } from "../../src/cli/args.ts";
import { COMMANDS } from "../../src/cli/commands.ts";
import { SETTINGS, type Setting } from "../../src/config/settings.ts";
import { BIN, kvfleet } from "../support/cli.ts";
import { spawnListening } from "../support/server.ts";

describe("kvfleet serve", () => {
  test("runs the server as bun run start does: start line, serves, drains on SIGTERM with exit 0", async () => {
    const server = await spawnListening(["bun", BIN, "serve", "--ip=127.0.0.1", "--port=0"]);
    try {
      expect(server.started).toMatchObject({ version: pkg.version, store: "memory" });
      const url = ["--url", server.url];
      expect(await kvfleet([...url, "set", "k", "[1]"])).toMatchObject({
        code: 0,
        stdout: "created\n",
      });
      expect(await kvfleet([...url, "get", "k"])).toMatchObject({ code: 0, stdout: "[1]\n" });
    } finally {
      await server.stop();
    }
    expect(server.process.exitCode).toBe(0);
    expect(server.output()).toContain('"event":"stopped"');
  });

  test("its --help is the server's, from the settings table; a bad setting exits 2", async () => {
    const help = await kvfleet(["serve", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: kvfleet serve [--flag=VALUE | --flag VALUE]...");
    for (const setting of Object.values(SETTINGS) as Setting<unknown>[]) {
      if (setting.flag !== undefined) expect(help.stdout).toContain(`--${setting.flag}`);
    }
    const bad = await kvfleet(["serve", "--port=nope"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--port");
  });
});

describe("kvfleet --help and --version", () => {
  test("--help names every command and flag, the environment and the exit codes", async () => {
    const help = await kvfleet(["--help"]);
    expect(help.code).toBe(0);
    for (const command of COMMANDS) expect(help.stdout).toContain(`  ${command.name} `);
    for (const flag of Object.keys(FLAGS)) expect(help.stdout).toContain(`--${flag}`);
    for (const word of ["KVFLEET_URL", "KVFLEET_TOKEN", "Exit codes", "kvfleet serve"]) {
      expect(help.stdout).toContain(word);
    }
  });

  test("a command's help, as --help or help COMMAND; --version", async () => {
    const [flag, word, version] = await Promise.all([
      kvfleet(["set", "--help"]),
      kvfleet(["help", "set"]),
      kvfleet(["--version"]),
    ]);
    expect(flag.stdout).toStartWith("Usage: kvfleet set KEY [VALUE] [--ttl MS]\n");
    expect(word).toEqual(flag);
    expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  });
});
