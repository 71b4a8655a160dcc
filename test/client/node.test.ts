import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { startTargets, TARGETS_ENV, type Target } from "./targets.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const SUITE = new URL("./api.test.ts", import.meta.url).pathname;
/** Inside node_modules/, so that Node resolves kvfleet-client and ws from the repository's. */
const OUT_DIR = `${ROOT}node_modules/.cache/kvfleet-client-test`;

/**
 * The suite and the files it imports (batching.ts) as one JavaScript module:
 * Node 20 runs no TypeScript. kvfleet-client and ws stay imports, resolved by
 * Node to the repository's (client/dist as built); so does targets.ts, which
 * only Bun reaches (it starts servers with Bun's API).
 */
async function bundle(): Promise<string> {
  const built = await Bun.build({
    entrypoints: [SUITE],
    target: "node",
    format: "esm",
    external: ["kvfleet-client", "ws"],
    plugins: [
      {
        name: "targets.ts left out",
        setup(build) {
          build.onResolve({ filter: /\/targets\.ts$/ }, (args) =>
            args.kind === "dynamic-import" ? { path: args.path, external: true } : undefined,
          );
        },
      },
    ],
  });
  if (!built.success) throw new Error(built.logs.map(String).join("\n"));
  return (built.outputs[0] as Blob).text();
}

let targets: Target[] = [];
let stop = async () => {};

beforeAll(async () => {
  ({ targets, stop } = await startTargets());
});
afterAll(() => stop());

test("the shared client suite passes in Node 20 (node --test, ws as WebSocket, dist/ as built)", async () => {
  if (Bun.which("node") === null) throw new Error("node not found: install Node.js 20 or later");
  const version = Bun.spawnSync(["node", "--version"]).stdout.toString().trim();
  expect(Number(version.match(/^v(\d+)\./)?.[1])).toBeGreaterThanOrEqual(20);
  // What Node imports is client/dist: build it from this tree, as `bun install` does.
  const build = Bun.spawnSync(["bun", "client/build.ts"], { cwd: ROOT, stderr: "pipe" });
  expect(build.stderr.toString()).toBe("");
  expect(build.exitCode).toBe(0);
  const js = await bundle();
  mkdirSync(OUT_DIR, { recursive: true });
  const file = `${OUT_DIR}/api.test.mjs`;
  writeFileSync(file, js);
  const node = Bun.spawn(["node", "--test", "--test-reporter=tap", file], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", [TARGETS_ENV]: JSON.stringify(targets) },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => node.kill("SIGKILL"), 50_000);
  const [out, err, code] = await Promise.all([
    new Response(node.stdout).text(),
    new Response(node.stderr).text(),
    node.exited,
  ]);
  clearTimeout(timer);
  const summary = (name: string) => Number(out.match(new RegExp(`^# ${name} (\\d+)$`, "m"))?.[1]);
  if (code !== 0) throw new Error(`node --test exited ${code}:\n${out}\n${err}`);
  expect(out).toMatch(/^# Subtest: kvfleet-client on the memory store$/m);
  expect(out).toMatch(/^# Subtest: kvfleet-client on the Redis store$/m);
  expect(summary("fail")).toBe(0);
  expect(summary("skipped")).toBe(0);
  // Every test of both stores ran: as many as `bun test` runs of the file.
  expect(summary("pass")).toBe(summary("tests"));
  expect(summary("pass")).toBeGreaterThanOrEqual(25);
  console.log(`node ${version}: ${summary("pass")} of ${summary("tests")} tests passed`);
});
