import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SETTINGS } from "../../src/config/settings.ts";
import { ROOT } from "./manifests.ts";

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: (op as string).toUpperCase(), args: rest.join(" ") };
    });
}

const dockerfile = instructions(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const stages = dockerfile.reduce<{ op: string; args: string }[][]>((acc, ins) => {
  if (ins.op === "FROM") acc.push([]);
  acc.at(-1)?.push(ins);
  return acc;
}, []);
const final = stages.at(-1) ?? [];
const ciBun = /^BUN_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, ".ci/run"), "utf8"))?.[1];
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

describe("Dockerfile", () => {
  test("every stage is Bun's official image at the exact version CI installs", () => {
    expect(ciBun).toMatch(/^\d+\.\d+\.\d+$/);
    expect(stages.length).toBeGreaterThan(1);
    for (const stage of stages) {
      const image = (stage[0]?.args ?? "").split(/\s+/)[0] as string;
      expect(image).not.toContain("latest");
      expect(image).toMatch(new RegExp(`^oven/bun:${ciBun?.replaceAll(".", "\\.")}(-[a-z]+)?$`));
    }
  });

  test("dependencies come from the lock file, production only", () => {
    const runs = dockerfile.filter((i) => i.op === "RUN").map((i) => i.args);
    expect(
      runs.some((r) => /bun install .*--frozen-lockfile/.test(r) && /--production/.test(r)),
    ).toBe(true);
    const copies = dockerfile.filter((i) => i.op === "COPY").map((i) => i.args);
    expect(copies).toContain("package.json bun.lock ./");
    expect(copies).toContain("src ./src");
  });

  test("the final stage runs as a non-root user", () => {
    const user = final.filter((i) => i.op === "USER").at(-1)?.args;
    expect(user).toBeDefined();
    expect(["root", "0", "0:0"]).not.toContain(user as string);
  });

  test("CMD is package.json's start script; listens on all addresses at the default port", () => {
    const cmd = final.filter((i) => i.op === "CMD").at(-1)?.args as string;
    expect((JSON.parse(cmd) as string[]).join(" ")).toBe(pkg.scripts.start);
    expect(final.find((i) => i.op === "EXPOSE")?.args).toBe(String(SETTINGS["kv.port"].default));
    expect(final.find((i) => i.op === "ENV")?.args).toContain("KVFLEET_IP=0.0.0.0");
  });

  test(".dockerignore keeps everything but the sources and the manifest out", () => {
    const lines = readFileSync(join(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    expect(lines).toEqual(["*", "!package.json", "!bun.lock", "!src"]);
  });
});
