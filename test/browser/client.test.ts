/**
 * The shared client suite (test/client/api.test.ts, the file Bun and Node 20
 * run) in a real headless Chromium, against the real servers it uses in Bun:
 * a memory store with a token, which a browser can only give as `?token=`,
 * and a Redis store. The file is bundled for the browser with `node:test`
 * resolved to test/browser/page-harness.ts and `node:assert` to Bun's
 * browser build of it; the page runs every test and hands the results back.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { BunPlugin } from "bun";
import { startTargets, TARGETS_ENV, type Target } from "../client/targets.ts";
import { type Chromium, startChromium } from "../support/chromium.ts";
import type { CaseResult } from "./page-harness.ts";

const HARNESS = new URL("./page-harness.ts", import.meta.url).pathname;
const ENTRY = new URL("./client-suite.page.ts", import.meta.url).pathname;

/**
 * What the suite imports that a browser has no use for: `ws` (the page has
 * a global WebSocket) and targets.ts (the servers are started here and
 * handed over in KVFLEET_CLIENT_TARGETS), both behind `await import` the
 * page never reaches; and `node:assert/strict`, which Bun's browser build
 * leaves empty, as `node:assert`'s strict mode.
 */
const forTheBrowser: BunPlugin = {
  name: "client suite in a browser",
  setup(build) {
    build.onResolve({ filter: /^node:test$/ }, () => ({ path: HARNESS }));
    build.onResolve({ filter: /^node:assert\/strict$/ }, () => ({
      path: "assert",
      namespace: "page",
    }));
    build.onResolve({ filter: /^ws$/ }, () => ({ path: "ws", namespace: "page" }));
    build.onResolve({ filter: /\/targets\.ts$/ }, (args) =>
      args.kind === "dynamic-import" ? { path: "targets", namespace: "page" } : undefined,
    );
    const contents: Record<string, string> = {
      assert: 'import assert from "node:assert"; export default assert.strict;',
      ws: "export const WebSocket = undefined;",
      targets: 'export function startTargets() { throw new Error("not in a browser"); }',
    };
    build.onLoad({ filter: /.*/, namespace: "page" }, (args) => ({
      contents: contents[args.path] as string,
      loader: "js",
    }));
  },
};

async function bundle(): Promise<string> {
  const built = await Bun.build({
    entrypoints: [ENTRY],
    target: "browser",
    format: "esm",
    // kvfleet-client's source (its "bun" export), as the Bun run of the suite uses, not dist/.
    conditions: ["bun"],
    plugins: [forTheBrowser],
  });
  if (!built.success) throw new Error(built.logs.map(String).join("\n"));
  return (built.outputs[0] as Blob).text();
}

/** The page: the suite's view of `process` (its targets), then the bundle. */
const html = (targets: Target[]) => `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>kvfleet-client suite</title></head>
<body><script>globalThis.process = { env: ${JSON.stringify({ [TARGETS_ENV]: JSON.stringify(targets) })}, versions: {} };</script>
<script type="module" src="/suite.js"></script></body></html>`;

let stopTargets = async () => {};
let site: ReturnType<typeof Bun.serve> | undefined;
let chromium: Chromium | undefined;
let targets: Target[] = [];

beforeAll(async () => {
  let script: string;
  [{ targets, stop: stopTargets }, script] = await Promise.all([startTargets(), bundle()]);
  const page = html(targets);
  site = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    routes: {
      "/": () => new Response(page, { headers: { "content-type": "text/html" } }),
      "/suite.js": () => new Response(script, { headers: { "content-type": "text/javascript" } }),
    },
  });
  chromium = await startChromium();
});

afterAll(async () => {
  await chromium?.stop();
  await site?.stop(true);
  await stopTargets();
});

test("the shared client suite passes in headless Chromium, the token given as ?token=", async () => {
  const browser = chromium as Chromium;
  const tab = await browser.page();
  await tab.goto((site as ReturnType<typeof Bun.serve>).url.href);
  const registered = tab.waitForFunction(
    () => (globalThis as { kvfleetTests?: { ready: boolean } }).kvfleetTests?.ready === true,
    { timeout: 10_000 },
  );
  await registered.catch((error) => {
    throw new Error(`the suite did not load in the page: ${browser.errors.join("\n") || error}`);
  });
  const results = await tab.evaluate(() =>
    (
      globalThis as unknown as { kvfleetTests: { run(): Promise<CaseResult[]> } }
    ).kvfleetTests.run(),
  );
  const failed = results.filter((r) => !r.passed);
  expect(failed.map((r) => `${r.name}: ${r.error}`)).toEqual([]);
  expect(results.filter((r) => r.skipped).map((r) => r.name)).toEqual([]);
  // Both stores' tests, the token test of the store that has one among them.
  for (const target of targets)
    expect(results.some((r) => r.name.startsWith(`kvfleet-client on the ${target.name} > `))).toBe(
      true,
    );
  expect(results.map((r) => r.name)).toContainEqual(
    "kvfleet-client on the memory store > the token: in a header, in ?token=, and refused when wrong",
  );
  expect(results.length).toBeGreaterThanOrEqual(25);
  // Uncaught errors in the page fail it too; the refused upgrades of the token test are expected.
  expect(browser.errors.filter((e) => !/WebSocket connection to .* failed/.test(e))).toEqual([]);
}, 30_000);
