import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ENTRY_OVERHEAD } from "../../src/store/memory.ts";
import { TestClient } from "../support/client.ts";
import { scrape } from "../support/metrics.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { procStatusBytes } from "../support/proc.ts";
import { type RedisServer, redisCli, startRedis, waitFor } from "../support/redis.ts";
import { type SpawnedServer, spawnServer } from "../support/server.ts";

const LIMIT = 4 * 2 ** 20;
/** A value whose JSON text, as stored, is exactly 1000 characters. */
const VALUE = "v".repeat(998);
const VALUE_TEXT = JSON.stringify(VALUE).length;
const key = (i: number) => `key:${String(i).padStart(6, "0")}`;
/** What the store counts for each key written here: all keys are 10 characters. */
const ENTRY = key(0).length + VALUE_TEXT + ENTRY_OVERHEAD;
/** As many entries as fit the limit. */
const FITS = Math.floor(LIMIT / ENTRY);

const storeFullLines = (server: SpawnedServer) =>
  server
    .output()
    .split("\n")
    .filter((line) => line.includes('"event":"store full"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

// A process: the second test reads the node's peak RSS.
describe("a node with --max-memory=4Mi", () => {
  let server: SpawnedServer;
  let client: TestClient;
  let idleRss: number;
  beforeAll(async () => {
    server = await spawnServer({ args: ["--max-memory=4Mi", "--max-payload=65536"] });
    client = await TestClient.open(server.url);
    expect(await client.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: 0 } }]);
    idleRss = procStatusBytes(server.pid, "VmRSS");
  });
  afterAll(async () => {
    client?.close();
    await server?.stop();
  });

  test("stores 1 KB values up to the limit, then answers 100 per key; metrics, log and removes follow", async () => {
    expect(server.started.config.store).toEqual({ type: "memory", maxMemory: LIMIT });
    const metrics = await scrape(server);
    expect(metrics.get("kvfleet_store_limit_bytes")).toBe(LIMIT);
    expect(metrics.get("kvfleet_store_bytes")).toBe(0);
    expect(metrics.get("kvfleet_store_full")).toBe(0);

    // One key per message, 100 messages in flight, until a round brings a 100.
    const statuses: number[] = [];
    while (!statuses.includes(100)) {
      const first = statuses.length;
      for (let i = first; i < first + 100; i++) client.command({ KV_SET: { [key(i)]: VALUE } });
      for (const reply of await client.take(100)) {
        statuses.push((reply as { KV_SET_RSP: { st: number } }).KV_SET_RSP.st);
      }
    }
    // Exactly as many as the estimate lets in, the rest refused and not stored.
    expect(statuses.indexOf(100)).toBe(FITS);
    expect(statuses.slice(0, FITS).every((st) => st === 20)).toBe(true);
    expect(statuses.slice(FITS).every((st) => st === 100)).toBe(true);
    expect(FITS * ENTRY).toBeLessThanOrEqual(LIMIT);
    expect((FITS + 1) * ENTRY).toBeGreaterThan(LIMIT);
    expect(await client.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: FITS } }]);
    expect(await client.ask({ KV_GET: [key(FITS), key(FITS - 1)] }, 2)).toEqual([
      { KV_GET_RSP: { st: 22, k: key(FITS) } },
      { KV_GET_RSP: { [key(FITS - 1)]: VALUE, st: 1 } },
    ]);

    // The quiet form answers its refusals too.
    expect(await client.ask({ KV_SETQ: { quiet: VALUE } })).toEqual([
      { KV_SETQ_RSP: { st: 100, k: "quiet" } },
    ]);
    // A replacement that does not grow the store still works.
    expect(await client.ask({ KV_SET: { [key(0)]: VALUE.replace("v", "w") } })).toEqual([
      { KV_SET_RSP: { st: 21, k: key(0) } },
    ]);

    const full = await scrape(server);
    expect(full.get("kvfleet_store_bytes")).toBe(FITS * ENTRY);
    expect(full.get("kvfleet_store_full")).toBe(1);
    expect(full.get('kvfleet_responses_total{status="100"}')).toBe(statuses.length - FITS + 1);

    await waitFor("the store full line", () => storeFullLines(server).length > 0);
    expect(storeFullLines(server)).toEqual([
      expect.objectContaining({
        level: "warn",
        store: "memory",
        bytes: FITS * ENTRY,
        limit: LIMIT,
        refused: 1,
      }),
    ]);

    // Removing three entries lets exactly three new ones in.
    const removed = [key(1), key(2), key(3)];
    expect(await client.ask({ KV_RMV: removed }, 3)).toEqual(
      removed.map((k) => ({ KV_RMV_RSP: { st: 24, k } })),
    );
    expect((await scrape(server)).get("kvfleet_store_full")).toBe(0);
    const added = ["new:1", "new:2", "new:3", "new:4"].map((k) => k.padEnd(10, "_"));
    const replies = await client.ask(
      { KV_SET: Object.fromEntries(added.map((k) => [k, VALUE])) },
      4,
    );
    expect(replies).toEqual([
      { KV_SET_RSP: { st: 20, k: added[0] } },
      { KV_SET_RSP: { st: 20, k: added[1] } },
      { KV_SET_RSP: { st: 20, k: added[2] } },
      { KV_SET_RSP: { st: 100, k: added[3] } },
    ]);
    const after = await scrape(server);
    expect(after.get("kvfleet_store_bytes")).toBe(FITS * ENTRY);
    expect(after.get("kvfleet_store_full")).toBe(1);
  });

  test("100 MB of writes refused keep the node's peak RSS bounded, and log no second line within the minute", async () => {
    // 60 values of 1 KB per message: an unlimited store would keep all of it.
    const perMessage = 60;
    const rounds = 28;
    const messagesPerRound = 60;
    let k = 0;
    for (let r = 0; r < rounds; r++) {
      for (let m = 0; m < messagesPerRound; m++) {
        const body: Record<string, string> = {};
        for (let j = 0; j < perMessage; j++) body[`flood:${k++}`] = VALUE;
        client.command({ KV_SETQ: body });
      }
      const replies = await client.take(messagesPerRound * perMessage);
      expect(
        replies.every((r) => (r as { KV_SETQ_RSP: { st: number } }).KV_SETQ_RSP.st === 100),
      ).toBe(true);
    }
    const attempted = k * VALUE_TEXT;
    expect(attempted).toBeGreaterThan(100e6);
    expect(await client.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: FITS } }]);
    const peak = procStatusBytes(server.pid, "VmHWM");
    expect(peak - idleRss).toBeLessThan(64 * 2 ** 20);
    expect(storeFullLines(server)).toHaveLength(1);
  });
});

/** Redis's used_memory, from INFO. */
async function usedMemory(redis: RedisServer): Promise<number> {
  const info = await redisCli(redis.port, "INFO", "memory");
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
}

describe("the Redis store when Redis reaches its own maxmemory", () => {
  let redis: RedisServer;
  let node: TestNode;
  let client: TestClient;
  beforeAll(async () => {
    redis = await startRedis(["--maxmemory-policy", "noeviction"]);
    node = startNode([`--redis-url=${redis.url}`, "--max-payload=65536"]);
    await waitFor("the node to reach Redis", async () => {
      return (await fetch(`${node.httpUrl}/readyz`)).status === 200;
    });
    client = await TestClient.open(node.url);
  });
  afterAll(async () => {
    client?.close();
    await node?.stop();
    await redis?.stop();
  });

  /** 2 MB in 1 KB values, then a maxmemory well below what Redis uses, so no buffer's ebb lets a write in. */
  async function fillPastMaxmemory(): Promise<void> {
    const body = Object.fromEntries(Array.from({ length: 50 }, (_, j) => [`k${j}`, VALUE]));
    for (let m = 0; m < 40; m++) {
      const keys = Object.fromEntries(Object.entries(body).map(([k, v]) => [`${m}:${k}`, v]));
      client.command({ KV_SETQ: keys });
    }
    expect(await client.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: 2000 } }]);
    const used = await usedMemory(redis);
    await redisCli(redis.port, "CONFIG", "SET", "maxmemory", String(used - 2 ** 20));
  }

  test("noeviction: writes answer 100 per key; reads, count, removes and clear work", async () => {
    await fillPastMaxmemory();
    expect(await client.ask({ KV_SET: { a: VALUE, "0:k1": "1" } }, 2)).toEqual([
      { KV_SET_RSP: { st: 100, k: "a" } },
      { KV_SET_RSP: { st: 100, k: "0:k1" } },
    ]);
    expect(await client.ask({ KV_SETQ: { a: 1 } })).toEqual([{ KV_SETQ_RSP: { st: 100, k: "a" } }]);
    expect(await client.ask({ KV_ADD: { a: 1 } })).toEqual([{ KV_ADD_RSP: { st: 100, k: "a" } }]);
    expect(await client.ask({ KV_APPEND: { "0:k0": "x" } })).toEqual([
      { KV_APPEND_RSP: { st: 100, k: "0:k0" } },
    ]);
    expect(await client.ask({ KV_GET: ["0:k0", "a"] }, 2)).toEqual([
      { KV_GET_RSP: { "0:k0": VALUE, st: 1 } },
      { KV_GET_RSP: { st: 22, k: "a" } },
    ]);
    expect(await client.ask({ KV_CONTAINS: ["0:k1"] })).toEqual([
      { KV_CONTAINS_RSP: { st: 23, k: "0:k1" } },
    ]);
    expect(await client.ask({ KV_RMV: ["0:k2"] })).toEqual([{ KV_RMV_RSP: { st: 24, k: "0:k2" } }]);
    expect(await client.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: 1999 } }]);
    expect(await client.ask({ KV_CLEAR: {} })).toEqual([{ KV_CLEAR_RSP: { st: 1, cnt: 1999 } }]);
    expect(await client.ask({ KV_SET: { a: 1 } })).toEqual([{ KV_SET_RSP: { st: 20, k: "a" } }]);
  });

  test("an eviction policy instead: writes answer 20 and other keys vanish without a word", async () => {
    await redisCli(redis.port, "CONFIG", "SET", "maxmemory", "0");
    await client.ask({ KV_CLEAR: {} });
    await fillPastMaxmemory();
    await redisCli(redis.port, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    expect(await client.ask({ KV_SET: { a: VALUE } })).toEqual([
      { KV_SET_RSP: { st: 20, k: "a" } },
    ]);
    const [count] = (await client.ask({ KV_COUNT: {} })) as { KV_COUNT_RSP: { cnt: number } }[];
    expect(count?.KV_COUNT_RSP.cnt).toBeLessThan(2000);
  });
});
