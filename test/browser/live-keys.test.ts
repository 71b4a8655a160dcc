/**
 * examples/live-keys/ in a real headless Chromium against a real kvfleet
 * with a token (given to the page as `?token=`): two tabs of the page, one
 * writes through its form, the other's list follows; writes from another
 * client (here, this process) show too.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { connect, type Kvfleet } from "kvfleet-client";
import type { Page } from "puppeteer-core";
import page from "../../examples/live-keys/index.html";
import { type Chromium, startChromium } from "../support/chromium.ts";
import { startNode, type TestNode } from "../support/node.ts";

/** The page's document, as far as the checks run in it read it (this project's types have no DOM). */
declare const document: {
  querySelectorAll(selector: string): Iterable<{ getAttribute(name: string): string | null }>;
};

const TOKEN = "live-keys-browser-token";
const WAIT = { timeout: 5_000 };
/** Chromium's start and two page loads, on a machine that may be busy. */
const TEST_TIMEOUT = 20_000;

let node: TestNode;
let site: ReturnType<typeof Bun.serve>;
let chromium: Chromium;
let db: Kvfleet;

beforeAll(async () => {
  // The page gets kvfleet-client as an application's bundler would: its built dist/.
  if (!existsSync(new URL("../../client/dist/index.js", import.meta.url)))
    throw new Error(
      "client/dist/index.js is missing: `bun install` builds it (bun client/build.ts)",
    );
  node = startNode([], { env: { KVFLEET_TOKEN: TOKEN } });
  site = Bun.serve({ hostname: "127.0.0.1", port: 0, development: false, routes: { "/": page } });
  chromium = await startChromium();
  db = await connect(node.url, { token: TOKEN });
});

afterAll(async () => {
  await db?.close();
  await chromium?.stop();
  await site?.stop(true);
  await node?.stop();
});

/** The page with this test's server, token and prefix, once its list is loaded. */
async function open(): Promise<Page> {
  const tab = await chromium.page();
  const query = new URLSearchParams({ url: node.url, token: TOKEN, prefix: "demo:" });
  await tab.goto(`${site.url}?${query}`);
  await tab.waitForSelector('#status[data-state="live"]', WAIT).catch(async (error) => {
    const status = await tab.$eval("#status", (p) => p.textContent).catch(() => "no #status");
    throw new Error(`the page never went live (${status}): ${chromium.errors.join("\n") || error}`);
  });
  return tab;
}

/** The keys a tab lists, in its order, with the value text shown for each. */
const listed = (tab: Page) =>
  tab.$$eval("#keys li", (items) =>
    items.map((li) => [li.getAttribute("data-key"), li.querySelector(".value")?.textContent]),
  );

/** Waits until the tab lists exactly these keys. */
const listsKeys = (tab: Page, keys: string[]) =>
  tab.waitForFunction(
    (want: string) =>
      JSON.stringify(
        [...document.querySelectorAll("#keys li")].map((li) => li.getAttribute("data-key")),
      ) === want,
    { ...WAIT, polling: "mutation" },
    JSON.stringify(keys),
  );

test(
  "one tab writes, the other tab's list of keys under the prefix follows",
  async () => {
    await db.set("demo:before", { n: 1 });
    await db.set("other:x", 1);
    const reader = await open();
    const writer = await open();
    // Loaded by listing: only the prefix's keys.
    expect(await listed(reader)).toEqual([["demo:before", '{"n":1}']]);

    await writer.locator('input[name="key"]').fill("demo:ada");
    await writer.locator('input[name="value"]').fill('{"name":"Ada","id":18446744073709551617}');
    await writer.click('#write button[type="submit"]');
    await listsKeys(reader, ["demo:ada", "demo:before"]);
    expect(await listed(reader)).toEqual([
      ["demo:ada", '{"name":"Ada","id":18446744073709551617}'],
      ["demo:before", '{"n":1}'],
    ]);
    // The page writes with the client's exact JSON reader: 2^64 + 1 stays exact.
    expect(await db.get("demo:ada")).toEqual({ name: "Ada", id: 2n ** 64n + 1n });

    await writer.click('#keys li[data-key="demo:before"] button');
    await listsKeys(reader, ["demo:ada"]);
    expect(await db.has("demo:before")).toBe(false);

    // Another client's writes, exact numbers included; a key outside the prefix is not listed.
    await db.set("demo:big", { big: 2n ** 64n + 1n });
    await db.set("other:y", 2);
    await listsKeys(reader, ["demo:ada", "demo:big"]);
    expect((await listed(reader))[1]).toEqual(["demo:big", '{"big":18446744073709551617}']);
    // The writer's own list follows its writes too.
    await listsKeys(writer, ["demo:ada", "demo:big"]);

    await db.clear();
    await listsKeys(reader, []);
    expect(await reader.$eval("#status", (p) => p.textContent)).toBe("live: 0 keys");
    expect(chromium.errors).toEqual([]);
  },
  TEST_TIMEOUT,
);
