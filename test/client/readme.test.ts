import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { startNode, type TestNode } from "../support/node.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const README = readFileSync(`${ROOT}client/README.md`, "utf8");
/** Inside node_modules/, so that the example's import of kvfleet-client resolves as an application's. */
const OUT_DIR = `${ROOT}node_modules/.cache/kvfleet-client-test`;

let node: TestNode;
beforeAll(() => {
  node = startNode();
});
afterAll(() => node?.stop());

test("client/README.md's example prints what its // → comments say", async () => {
  const example = README.match(/## Example\n\n```ts\n([\s\S]*?)```/)?.[1];
  if (example === undefined) throw new Error("no ```ts block under ## Example in client/README.md");
  expect(example).toContain('connect("ws://127.0.0.1:1987/")');
  const expected = [...example.matchAll(/\/\/ → (.*)$/gm)].map((match) => match[1]);
  expect(expected.length).toBeGreaterThan(5);
  mkdirSync(OUT_DIR, { recursive: true });
  const file = `${OUT_DIR}/readme-example.ts`;
  writeFileSync(file, example.replace("ws://127.0.0.1:1987/", node.url));
  const run = Bun.spawn(["bun", file], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(run.stdout).text(),
    new Response(run.stderr).text(),
    run.exited,
  ]);
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(out.trimEnd().split("\n")).toEqual(expected as string[]);
});
