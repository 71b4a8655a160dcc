// The browser test's node:test stand-in (test/browser/page-harness.ts) run
// here, in Bun: what it reports is what decides the browser test, so a
// failing test, hook or timeout must come back as failed, and hooks must run
// where node:test runs them.
import { expect, test } from "bun:test";
import * as harness from "../browser/page-harness.ts";

const page = () =>
  (
    globalThis as unknown as {
      kvfleetTests: { run(): Promise<harness.CaseResult[]>; ready: boolean };
    }
  ).kvfleetTests;

test("runs registered tests in order with their hooks, and reports failures, skips and timeouts", async () => {
  const calls: string[] = [];
  harness.before(() => calls.push("root before"));
  harness.after(() => calls.push("root after"));
  harness.describe("outer", () => {
    harness.beforeEach(() => calls.push("outer beforeEach"));
    harness.afterEach(() => calls.push("outer afterEach"));
    harness.test("passes", async (t) => {
      t.after(() => calls.push("cleanup"));
      calls.push("passes");
    });
    harness.it("fails", () => {
      throw new Error("wrong answer");
    });
    harness.test("skipped", { skip: true }, () => calls.push("never"));
    harness.test("too slow", { timeout: 20 }, () => new Promise(() => {}));
    harness.describe("inner", () => {
      harness.before(() => {
        throw new Error("no server");
      });
      harness.test("needs the server", () => calls.push("never"));
    });
  });
  expect(page().ready).toBe(false);
  harness.ready();
  expect(page().ready).toBe(true);

  const results = await page().run();
  const byName = Object.fromEntries(results.map((r) => [r.name, r]));
  expect(results.map((r) => r.name)).toEqual([
    "outer > passes",
    "outer > fails",
    "outer > skipped",
    "outer > too slow",
    "outer > inner > needs the server",
  ]);
  expect(byName["outer > passes"]).toMatchObject({ passed: true, skipped: false });
  expect(byName["outer > fails"]).toMatchObject({ passed: false });
  expect(byName["outer > fails"]?.error).toContain("wrong answer");
  expect(byName["outer > skipped"]).toMatchObject({ passed: true, skipped: true });
  expect(byName["outer > too slow"]?.error).toContain("timed out after 20 ms");
  expect(byName["outer > inner > needs the server"]).toMatchObject({ passed: false });
  expect(byName["outer > inner > needs the server"]?.error).toContain("before hook");
  expect(calls).toEqual([
    "root before",
    "outer beforeEach",
    "passes",
    "cleanup",
    "outer afterEach",
    "outer beforeEach",
    "outer afterEach",
    "outer beforeEach",
    "outer afterEach",
    "root after",
  ]);
});

test("an async describe is refused, as node:test would not wait for it", () => {
  expect(() => harness.describe("async", async () => {})).toThrow(/must not be async/);
});
