/**
 * `node:test` for a browser page: the browser test bundles the client's test
 * file with `node:test` resolved to this module, so the same `describe`,
 * `test` and hooks register here. Nothing runs on load; once
 * `globalThis.kvfleetTests.ready`, the test calls `kvfleetTests.run()` and
 * gets one result per test, each run in order with its describe blocks'
 * hooks, as `node --test` does.
 */

type Fn = (context: Context) => unknown;
interface Options {
  skip?: boolean | string;
  todo?: boolean | string;
  timeout?: number;
}

/** What a test function gets as its argument (the part of node:test's TestContext in use). */
interface Context {
  readonly name: string;
  after(fn: () => unknown): void;
}

interface Suite {
  readonly name: string;
  readonly parent: Suite | undefined;
  readonly children: (Suite | Case)[];
  readonly before: Fn[];
  readonly after: Fn[];
  readonly beforeEach: Fn[];
  readonly afterEach: Fn[];
  readonly skip: boolean;
}
interface Case {
  readonly name: string;
  readonly fn: Fn;
  readonly skip: boolean;
  readonly timeout: number;
}

export interface CaseResult {
  name: string;
  passed: boolean;
  skipped: boolean;
  ms: number;
  error?: string;
}

const DEFAULT_TIMEOUT = 10_000;

const root: Suite = newSuite("", undefined, false);
let current = root;

function newSuite(name: string, parent: Suite | undefined, skip: boolean): Suite {
  return { name, parent, children: [], before: [], after: [], beforeEach: [], afterEach: [], skip };
}

/** node:test's (name, options?, fn?) arguments, any of them left out. */
type Args = [name: string, fn?: Fn] | [name: string, options: Options, fn?: Fn] | [fn: Fn];

function parse(given: Args): { name: string; options: Options; fn: Fn | undefined } {
  const args: unknown[] = [...given];
  const name = typeof args[0] === "string" ? (args.shift() as string) : "<anonymous>";
  const options = typeof args[0] === "object" && args[0] !== null ? (args.shift() as Options) : {};
  const fn = typeof args[0] === "function" ? (args[0] as Fn) : undefined;
  return { name, options, fn };
}

const skipped = (o: Options) => Boolean(o.skip) || Boolean(o.todo);

export function describe(...args: Args): void {
  const { name, options, fn } = parse(args);
  const suite = newSuite(name, current, skipped(options) || fn === undefined);
  current.children.push(suite);
  const outer = current;
  current = suite;
  try {
    const returned = fn?.({ name, after: (f) => suite.after.push(f) });
    if (returned instanceof Promise) throw new Error(`describe("${name}") must not be async here`);
  } finally {
    current = outer;
  }
}

export function test(...args: Args): void {
  const { name, options, fn } = parse(args);
  current.children.push({
    name,
    fn: fn ?? (() => {}),
    skip: skipped(options) || fn === undefined,
    timeout: options.timeout ?? DEFAULT_TIMEOUT,
  });
}

export const it = test;
export const before = (fn: Fn) => current.before.push(fn);
export const after = (fn: Fn) => current.after.push(fn);
export const beforeEach = (fn: Fn) => current.beforeEach.push(fn);
export const afterEach = (fn: Fn) => current.afterEach.push(fn);

const message = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ""}` : String(error);

function withTimeout(run: () => unknown, ms: number, what: string): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve().then(run), expired]).finally(() => clearTimeout(timer));
}

/** The chain of suites from the root down to `suite`. */
function lineage(suite: Suite): Suite[] {
  const chain: Suite[] = [];
  for (let s: Suite | undefined = suite; s !== undefined; s = s.parent) chain.unshift(s);
  return chain;
}

const fullName = (suite: Suite, name: string) =>
  [...lineage(suite).map((s) => s.name), name].filter((n) => n !== "").join(" > ");

async function runSuite(suite: Suite, results: CaseResult[]): Promise<void> {
  const context = (name: string, cleanups: (() => unknown)[]): Context => ({
    name,
    after: (fn) => cleanups.push(fn),
  });
  const hookFailure = async (hooks: Fn[], name: string): Promise<string | undefined> => {
    for (const hook of hooks) {
      try {
        await withTimeout(() => hook(context(name, [])), DEFAULT_TIMEOUT, `a hook of ${name}`);
      } catch (error) {
        return message(error);
      }
    }
    return undefined;
  };
  const cases = (s: Suite): Case[] => s.children.flatMap((c) => ("children" in c ? cases(c) : [c]));
  const failAll = (error: string) => {
    for (const c of cases(suite))
      results.push({ name: fullName(suite, c.name), passed: false, skipped: false, ms: 0, error });
  };
  if (suite.skip) {
    for (const c of cases(suite))
      results.push({ name: fullName(suite, c.name), passed: true, skipped: true, ms: 0 });
    return;
  }
  const failedBefore = await hookFailure(suite.before, fullName(suite, "before"));
  if (failedBefore !== undefined) failAll(`before hook: ${failedBefore}`);
  else {
    for (const child of suite.children) {
      if ("children" in child) {
        await runSuite(child, results);
        continue;
      }
      const name = fullName(suite, child.name);
      if (child.skip) {
        results.push({ name, passed: true, skipped: true, ms: 0 });
        continue;
      }
      const chain = lineage(suite);
      const started = performance.now();
      const cleanups: (() => unknown)[] = [];
      let error = await hookFailure(
        chain.flatMap((s) => s.beforeEach),
        name,
      );
      if (error === undefined) {
        try {
          await withTimeout(() => child.fn(context(name, cleanups)), child.timeout, name);
        } catch (e) {
          error = message(e);
        }
      }
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (e) {
          error ??= `cleanup: ${message(e)}`;
        }
      }
      const afterEachFailure = await hookFailure(
        chain.reverse().flatMap((s) => s.afterEach),
        name,
      );
      error ??= afterEachFailure;
      const ms = Math.round(performance.now() - started);
      results.push({ name, passed: error === undefined, skipped: false, ms, error });
    }
  }
  const failedAfter = await hookFailure(suite.after, fullName(suite, "after"));
  if (failedAfter !== undefined)
    results.push({
      name: fullName(suite, "after"),
      passed: false,
      skipped: false,
      ms: 0,
      error: failedAfter,
    });
}

/** Runs every registered test once, in order. */
async function run(): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  await runSuite(root, results);
  return results;
}

const page = { run, ready: false };
(globalThis as { kvfleetTests?: typeof page }).kvfleetTests = page;

/** Called once the test file's module has run: its tests are all registered. */
export function ready(): void {
  page.ready = true;
}

export default test;
