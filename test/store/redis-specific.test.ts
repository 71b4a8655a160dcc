import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { appendJson } from "../../src/json/append.ts";
import { Status } from "../../src/protocol/status.ts";
import { connectRedis, RedisStore } from "../../src/store/redis.ts";
import { type RedisServer, redisCli, startRedis, waitFor } from "../support/redis.ts";

const TIMEOUT = 300;
let server: RedisServer;
const stores: RedisStore[] = [];

/** A store on a fresh client; closed after each test. */
function open(
  target: RedisServer = server,
  onError?: (err: Error) => void,
  commandTimeout = TIMEOUT,
): RedisStore {
  const store = new RedisStore(
    connectRedis({ type: "redis", url: target.url, commandTimeout }, onError),
  );
  stores.push(store);
  return store;
}

const all = <T>(keys: readonly unknown[], value: T): T[] => keys.map(() => value);
const keysOf = (label: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${label}:${i}:${crypto.randomUUID()}`);

/**
 * EVAL and EVALSHA calls so far: a group costs one. (Commandstats also count
 * the commands scripts run, so SET, PEXPIRE and PTTL say nothing of groups.)
 */
async function evals(): Promise<number> {
  const info = await redisCli(server.port, "INFO", "commandstats");
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_(eval|evalsha):calls=(\d+)/gm)) {
    calls += Number(m[2]);
  }
  return calls;
}

/** Read events the server processed so far: one per round trip that reached it. */
async function reads(): Promise<number> {
  const info = await redisCli(server.port, "INFO", "stats");
  return Number(/total_reads_processed:(\d+)/.exec(info)?.[1]);
}

/** The same JSON with every character inside strings written as a `\uXXXX` escape. */
function escapeStrings(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"') inString = !inString;
    if (!inString || c === '"') {
      out += c;
    } else if (c === "\\") {
      const n = text[i + 1] === "u" ? 6 : 2;
      out += text.slice(i, i + n);
      i += n - 1;
    } else {
      out += `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
    }
  }
  return out;
}

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});
afterAll(() => server?.stop());

describe("Lua scripts", () => {
  // Sending the script again as EVAL would run it after commands sent since, reordering a key's writes.
  test("after SCRIPT FLUSH a script's write answers 100 without running, and the scripts are loaded again", async () => {
    const store = open();
    const keys = keysOf("flush", 10);
    expect(await store.set(keys, all(keys, "[]"))).toEqual(all(keys, Status.KeySet));
    expect(await redisCli(server.port, "SCRIPT", "FLUSH")).toContain("OK");
    expect(await store.append(keys, all(keys, "[0]"))).toEqual(all(keys, Status.Unknown));
    expect(await store.get(keys)).toEqual(all(keys, "[]"));
    expect(await store.append(keys, all(keys, "[0]"))).toEqual(all(keys, Status.Ok));
    expect(await redisCli(server.port, "SCRIPT", "FLUSH")).toContain("OK");
    expect(await store.append(keys.slice(0, 1), ["[1]"])).toEqual([Status.Unknown]);
    expect(await store.append(keys, all(keys, "[1]"))).toEqual(all(keys, Status.Ok));
    expect(await store.get(keys)).toEqual(all(keys, "[0,1]"));
  });

  test("append keeps nested empty containers, big numbers and integer-like names", async () => {
    const store = open();
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    const cases: [string, string][] = [
      ["[[],{}]", "[{},[]]"],
      ["[]", "[9007199254740993,0.1,1e21]"],
      ['{"2":[],"10":{}}', '{"1":[[]],"10":1,"b":{"c":{}},"2":null}'],
      ['{"😀":1,"é":0}', '{"\\ud83d\\ude00":2,"\\u00E9":3,"\\ud800":4,"\\u0000":5}'],
      ['{"a":"}\\"]","b":{"x":"{[\\\\"}}', '{"b":1,"c":"\\\\","d":[{"e":"]"}]}'],
      [`{"deep":${deep}}`, `{"deep":1,"more":${deep}}`],
      ['"9007199254740993"', '"\\u00e9\\n"'],
    ];
    const keys = keysOf("exact", cases.length);
    const stored = cases.map((c) => c[0]);
    const added = cases.map((c) => c[1]);
    await store.set(keys, stored);
    expect(await store.append(keys, added)).toEqual(all(keys, Status.Ok));
    expect(await store.get(keys)).toEqual(cases.map(([s, a]) => appendJson(s, a) ?? "none"));
  });

  test("append matches json/append.ts on generated values, escaped names included", async () => {
    const store = open();
    const name = fc.constantFrom("a", "b", "10", "2", "é", "😀", "\ud800", "\\", '"', "");
    const value = fc.oneof(
      fc.dictionary(name, fc.jsonValue({ maxDepth: 3, stringUnit: "binary" }), { maxKeys: 5 }),
      fc.jsonValue({ maxDepth: 3, stringUnit: "binary" }),
    );
    const text = fc
      .tuple(value, fc.boolean())
      .map(([v, escaped]) => (escaped ? escapeStrings(JSON.stringify(v)) : JSON.stringify(v)));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 20 }),
        async (pairs) => {
          const keys = keysOf("prop", pairs.length);
          const stored = pairs.map((p) => p[0]);
          const added = pairs.map((p) => p[1]);
          await store.set(keys, stored);
          const statuses = await store.append(keys, added);
          const expected = pairs.map(([s, a]) => appendJson(s, a));
          expect(statuses).toEqual(
            expected.map((e) => (e === null ? Status.ValueTypeInvalid : Status.Ok)),
          );
          expect(await store.get(keys)).toEqual(expected.map((e, i) => e ?? (stored[i] as string)));
        },
      ),
      { numRuns: 60 },
    );
  }, 30_000);
});

test("a batch sent right after the client is created waits for the connection", async () => {
  const store = open();
  const keys = keysOf("early", 3);
  expect(await store.add(keys, all(keys, "1"))).toEqual(all(keys, Status.KeySet));
  expect(await store.count()).toBeGreaterThanOrEqual(3);
});

describe("round trips", () => {
  test("a batch of 50 keys reaches Redis in a few reads, where sequential commands take 50", async () => {
    const store = open();
    const keys = keysOf("rtt", 50);
    await store.ready(); // connected, scripts loaded on first use below

    let before = await reads();
    for (const key of keys) await store.get([key]);
    const sequential = (await reads()) - before;

    before = await reads();
    const [set, get] = await Promise.all([store.set(keys, all(keys, "1")), store.get(keys)]);
    const batched = (await reads()) - before;

    expect(set).toEqual(all(keys, Status.KeySet));
    expect(get.length).toBe(50);
    expect(sequential).toBeGreaterThanOrEqual(50);
    expect(batched).toBeLessThanOrEqual(6);
  });

  // 8 MB is more than a socket takes in one write and than a read brings in one chunk.
  test("values of 2 MB, four in one call, go out and come back whole", async () => {
    const store = open(server, undefined, 10_000);
    const keys = keysOf("big", 4);
    const values = keys.map((key, i) =>
      JSON.stringify([key, "\u20ac".repeat(i), "v".repeat(2 << 20)]),
    );
    expect(await store.set(keys, values)).toEqual(all(keys, Status.KeySet));
    expect(await store.get(keys)).toEqual(values);
  });
});

describe("several clients, one Redis", () => {
  test("concurrent set, add and remove of one key through 5 clients: exactly one 20 / 24", async () => {
    const first = open();
    const clients = [first, ...Array.from({ length: 4 }, () => open())];
    await waitFor("every client to be ready", async () =>
      (await Promise.all(clients.map((s) => s.ready()))).every(Boolean),
    );
    const [a, b, c] = keysOf("race", 3) as [string, string, string];
    const set = await Promise.all(clients.map((s) => s.set([a], ["1"])));
    expect(set.flat().sort()).toEqual([20, 21, 21, 21, 21]);
    const add = await Promise.all(clients.map((s) => s.add([b], ["1"])));
    expect(add.flat().sort()).toEqual([20, 23, 23, 23, 23]);
    const remove = await Promise.all(clients.map((s) => s.remove([a])));
    expect(remove.flat().sort()).toEqual([22, 22, 22, 22, 24]);
    await first.set([c], ["[]"]);
    const appends = await Promise.all(
      clients.flatMap((s, i) =>
        Array.from({ length: 10 }, (_, j) => s.append([c], [`[${i * 10 + j}]`])),
      ),
    );
    expect(appends.flat()).toEqual(all(appends, Status.Ok));
    const [stored] = (await first.get([c])) as [string];
    const numbers = JSON.parse(stored) as number[];
    expect(numbers.sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
  test("set and add with a ttl racing on new keys through 5 clients: exactly one 20, alone or in a group", async () => {
    const clients = Array.from({ length: 5 }, () => open());
    await waitFor("every client to be ready", async () =>
      (await Promise.all(clients.map((s) => s.ready()))).every(Boolean),
    );
    for (let round = 0; round < 10; round++) {
      const [a, b, c, d] = keysOf(`raceTtl${round}`, 4) as [string, string, string, string];
      // One key alone (the plain command), then with other keys (the group script).
      const set = await Promise.all(clients.map((s) => s.set([a], ["1"], 60_000)));
      const add = await Promise.all(clients.map((s) => s.add([b], ["1"], 60_000)));
      const grouped = await Promise.all(
        clients.map((s, i) => s.set([c, ...keysOf(`own${i}`, 3)], ["1", "1", "1", "1"], 60_000)),
      );
      const added = await Promise.all(
        clients.map((s, i) => s.add([...keysOf(`own${i}`, 3), d], ["1", "1", "1", "1"], 60_000)),
      );
      expect(set.flat().sort()).toEqual([20, 21, 21, 21, 21]);
      expect(add.flat().sort()).toEqual([20, 23, 23, 23, 23]);
      expect(grouped.map((r) => r[0]).sort()).toEqual([20, 21, 21, 21, 21]);
      expect(added.map((r) => r[3]).sort()).toEqual([20, 23, 23, 23, 23]);
      const lefts = (await (clients[0] as RedisStore).ttl([a, b, c, d])) as { ms: number }[];
      for (const left of lefts) expect(left.ms).toBeGreaterThan(50_000);
    }
  });
});

describe("expiry through the coalescer", () => {
  test("200 one-key writes with their own ttls in one turn cost a handful of commands, each keeping its ttl", async () => {
    const store = open();
    await waitFor("the client to be ready", () => store.ready());
    const keys = keysOf("ttlFew", 200);
    const ttl = (i: number) => 100_000 + i * 1000;
    const before = await evals();
    const sets = await Promise.all(keys.map((k, i) => store.set([k], ["1"], ttl(i))));
    const expires = await Promise.all(keys.map((k, i) => store.expire([k], [ttl(i) + 500])));
    const lefts = await Promise.all(keys.map((k) => store.ttl([k])));
    const after = await evals();
    expect(sets.flat()).toEqual(all(keys, Status.KeySet));
    expect(expires.flat()).toEqual(all(keys, Status.Ok));
    for (const [i, [left]] of lefts.entries()) {
      const ms = (left as { ms: number }).ms;
      expect(ms).toBeLessThanOrEqual(ttl(i) + 500);
      expect(ms).toBeGreaterThan(ttl(i) + 500 - 5000);
    }
    // The first call of each turn goes alone; the rest of each kind gathers into
    // groups (one key at a time would be 200 PEXPIREs and 200 PTTLs; the sets of a
    // quiet node are plain SETs, no scripts).
    expect(after - before).toBeLessThan(20);
    expect(await store.persist(keys)).toEqual(all(keys, Status.Ok));
    expect(await store.ttl(keys)).toEqual(all(keys, { ms: null }));
  });

  test("writes with and without a ttl on one key in one turn run in the order they were asked for", async () => {
    const store = open();
    await waitFor("the client to be ready", () => store.ready());
    const [k, j] = keysOf("ttlOrder", 2) as [string, string];
    const [first, second, third, left, addAfter, leftJ] = await Promise.all([
      store.set([k], ["1"], 60_000),
      store.set([k], ["2"]),
      store.set([k, j], ["3", "[1]"], 30_000),
      store.ttl([k]),
      store.add([k], ["4"], 1000),
      store.append([j], ["[2]"]).then(() => store.ttl([j])),
    ]);
    expect([first, second, third, addAfter]).toEqual([
      [Status.KeySet],
      [Status.KeyUpdated],
      [Status.KeyUpdated, Status.KeySet],
      [Status.KeyExists],
    ]);
    expect((left[0] as { ms: number }).ms).toBeLessThanOrEqual(30_000);
    expect((left[0] as { ms: number }).ms).toBeGreaterThan(25_000);
    expect((leftJ[0] as { ms: number }).ms).toBeGreaterThan(25_000);
    expect(await store.get([k, j])).toEqual(["3", "[1,2]"]);
  });
});

describe("failures of Redis", () => {
  let faulty: RedisServer;
  beforeAll(async () => {
    faulty = await startRedis();
  });
  afterAll(() => faulty?.stop());

  test("while Redis is down every key answers 100 within the timeout, then service comes back", async () => {
    const store = open(faulty);
    const keys = keysOf("down", 20);
    expect(await store.set(keys, all(keys, "1"))).toEqual(all(keys, Status.KeySet));
    await faulty.kill();

    const started = performance.now();
    const [set, get] = await Promise.all([store.set(keys, all(keys, "2")), store.get(keys)]);
    expect(performance.now() - started).toBeLessThan(TIMEOUT + 1000);
    expect(set).toEqual(all(keys, Status.Unknown));
    expect(get).toEqual(all(keys, Status.Unknown));
    await expect(store.count()).rejects.toThrow();
    expect(await store.ready()).toBe(false);

    await faulty.restart();
    await waitFor("the store to reconnect", () => store.ready());
    expect(await store.get(keys)).toEqual(all(keys, Status.KeyNotExist)); // no persistence
    expect(await store.set(keys, all(keys, "3"))).toEqual(all(keys, Status.KeySet));
  }, 30_000);

  test("while Redis hangs (paused) every key answers 100 within the timeout, again and again", async () => {
    const store = open(faulty);
    const keys = keysOf("hang", 10);
    await store.set(keys, all(keys, "1"));
    await redisCli(faulty.port, "CLIENT", "PAUSE", "3000", "ALL");
    try {
      for (let round = 0; round < 3; round++) {
        const started = performance.now();
        expect(await store.get(keys)).toEqual(all(keys, Status.Unknown));
        expect(performance.now() - started).toBeLessThan(TIMEOUT * 2);
      }
    } finally {
      await redisCli(faulty.port, "CLIENT", "UNPAUSE");
    }
    await waitFor("answers again", async () => (await store.get(keys))[0] === "1");
  }, 30_000);

  test("a store created while Redis is down starts, is not ready, and becomes ready with Redis", async () => {
    await faulty.kill();
    const errors: Error[] = [];
    const store = open(faulty, (err) => errors.push(err));
    expect(await store.ready()).toBe(false);
    expect(await store.get(["k"])).toEqual([Status.Unknown]);
    expect(errors.length).toBeGreaterThan(0); // reported, not printed as unhandled

    await faulty.restart();
    await waitFor("the store to connect", () => store.ready());
    expect(await store.add(["k"], ["1"])).toEqual([Status.KeySet]);
    expect(await store.get(["k"])).toEqual(["1"]);
  }, 30_000);
});
