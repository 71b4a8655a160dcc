import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { connectRedis, RedisStore } from "../../src/store/redis.ts";
import { type RedisServer, redisCli, startRedis, waitFor } from "../support/redis.ts";

/** KV_KEYS on a single Redis: what the shared suite cannot see (commands, bounds, restarts). */

let server: RedisServer;
const stores: RedisStore[] = [];

async function open(target: RedisServer = server): Promise<RedisStore> {
  const store = new RedisStore(
    connectRedis({ type: "redis", url: target.url, commandTimeout: 2000 }),
  );
  stores.push(store);
  await waitFor("the client to be ready", () => store.ready());
  return store;
}

/** Calls of `command` in INFO commandstats so far. */
async function calls(target: RedisServer, command: string): Promise<number> {
  const info = await redisCli(target.port, "INFO", "commandstats");
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(info)?.[1] ?? 0);
}

/** Lists every page; `between` runs after each page but the last, on its index. */
async function listAll(
  stores: RedisStore[],
  prefix: string,
  limit: number,
  between?: (page: number) => Promise<void>,
) {
  const seen: string[] = [];
  const sizes: number[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100_000; page++) {
    const store = stores[page % stores.length] as RedisStore;
    const result = await store.keys({ prefix, limit, ...(cursor ? { cursor } : {}) });
    if (result === null) throw new Error("the store refused a cursor it made");
    seen.push(...result.keys);
    sizes.push(result.keys.length);
    if (result.cursor === null) return { seen, sizes };
    cursor = result.cursor;
    await between?.(page);
  }
  throw new Error("the listing never ended");
}

async function fill(store: RedisStore, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const chunk = keys.slice(i, i + 1000);
    await store.set(
      chunk,
      chunk.map(() => "1"),
    );
  }
}

beforeAll(async () => {
  server = await startRedis(["--enable-debug-command", "yes"]);
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});
afterAll(() => server?.stop());

describe("a big keyspace", () => {
  const big = Array.from({ length: 20_000 }, (_, i) => `big:${i}`);
  beforeAll(async () => {
    const store = await open();
    await store.clear();
    await fill(store, big);
  });

  test("20,000 keys take many calls of at most limit keys each, with SCAN, never KEYS", async () => {
    const store = await open();
    const [keysBefore, scansBefore] = [await calls(server, "keys"), await calls(server, "scan")];
    const { seen, sizes } = await listAll([store], "", 1000);
    const scans = (await calls(server, "scan")) - scansBefore;
    expect(await calls(server, "keys")).toBe(keysBefore);
    expect(new Set(seen)).toEqual(new Set(big));
    expect(sizes.length).toBeGreaterThanOrEqual(20);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(1000);
    // Bounded work: at most 8 SCANs a call.
    expect(scans).toBeLessThanOrEqual(8 * sizes.length);
  });

  test("a rare prefix takes a few calls, each of at most 8 SCANs", async () => {
    const store = await open();
    const perCall: number[] = [];
    let last = await calls(server, "scan");
    const count = async () => {
      const now = await calls(server, "scan");
      perCall.push(now - last);
      last = now;
    };
    const { seen } = await listAll([store], "big:1234", 100, count);
    await count();
    const expected = ["big:1234", ...Array.from({ length: 10 }, (_, i) => `big:1234${i}`)];
    expect(new Set(seen)).toEqual(new Set(expected));
    for (const n of perCall) expect(n).toBeLessThanOrEqual(8);
    // COUNT grows while few keys match: not 20,000 / 100 calls.
    expect(perCall.length).toBeLessThanOrEqual(10);
  });

  test("limit 1 answers one key a page and loses none SCAN returned past it", async () => {
    const store = await open();
    const { seen, sizes } = await listAll([store], "big:19", 1);
    const expected = big.filter((k) => k.startsWith("big:19"));
    expect(new Set(seen)).toEqual(new Set(expected));
    expect(seen.length).toBe(expected.length);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(1);
  });

  test("a listing goes on through other stores on the same Redis, page by page", async () => {
    const stores = [await open(), await open(), await open()];
    const { seen } = await listAll(stores, "big:2", 150);
    expect(new Set(seen)).toEqual(new Set(big.filter((k) => k.startsWith("big:2"))));
  });
});

test("prefixes of MATCH's special characters find both key forms and nothing else", async () => {
  const store = await open();
  await store.clear();
  const id = crypto.randomUUID().slice(0, 8);
  // Plain keys and, with a lone surrogate, keys stored as NUL + JSON, for each prefix.
  const prefixes = ["^", "]", "-", "[", "*", "?", "a-", "^a", "]]", "\\", '"', "é", `${id}`];
  const forms = (p: string) => [`${p}${id}`, `${p}${id}\ud800`, `${p}`, `${p}\ud800`];
  const keys = [...new Set(prefixes.flatMap(forms))];
  const decoys = [`b${id}`, `\u0000${id}`, `x^${id}`, `\ud800^${id}`, `a${id}`, `e${id}`];
  await store.set(
    [...keys, ...decoys],
    [...keys, ...decoys].map(() => "1"),
  );
  const everything = [...keys, ...decoys];
  for (const prefix of prefixes) {
    const { seen } = await listAll([store], prefix, 5);
    expect(new Set(seen)).toEqual(new Set(everything.filter((k) => k.startsWith(prefix))));
  }
});

test("expired keys Redis has not reclaimed yet are not listed", async () => {
  const store = await open();
  await store.clear();
  await redisCli(server.port, "DEBUG", "SET-ACTIVE-EXPIRE", "0");
  try {
    const expiring = Array.from({ length: 50 }, (_, i) => `exp:gone:${i}`);
    const kept = Array.from({ length: 50 }, (_, i) => `exp:kept:${i}`);
    await store.set(
      expiring,
      expiring.map(() => "1"),
      1,
    );
    await store.set(
      kept,
      kept.map(() => "1"),
    );
    await Bun.sleep(10);
    expect(await store.count()).toBe(100); // still in Redis
    expect(new Set((await listAll([store], "exp:", 7)).seen)).toEqual(new Set(kept));
  } finally {
    await redisCli(server.port, "DEBUG", "SET-ACTIVE-EXPIRE", "1");
  }
});

describe("a Redis restarted during a listing", () => {
  let durable: RedisServer;
  beforeAll(async () => {
    durable = await startRedis(["--appendonly", "yes", "--appendfsync", "always"]);
  });
  afterAll(() => durable?.stop());

  test("is listed again from the start: its SCAN cursors meant another hash seed", async () => {
    const store = await open(durable);
    const keys = Array.from({ length: 2000 }, (_, i) => `restart:${i}`);
    await fill(store, keys);
    const { seen } = await listAll([store], "restart:", 100, async (page) => {
      if (page !== 4) return;
      await durable.restart();
      await waitFor("the store to reconnect", () => store.ready());
    });
    expect(new Set(seen)).toEqual(new Set(keys));
    // Listed again from 0 after the restart: the pages before it come back.
    expect(seen.length).toBeGreaterThanOrEqual(keys.length + 500);
  }, 30_000);
});
