import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TestClient } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { type RedisServer, startRedis, waitFor } from "../support/redis.ts";

type Rsp = Record<string, { st: number; k?: string; m?: string }>;

const TIMEOUT_MS = 500;

describe("Redis goes away and comes back", () => {
  let redis: RedisServer;
  let node: TestNode;
  beforeAll(async () => {
    redis = await startRedis();
    node = startNode([`--redis-url=${redis.url}`, `--command-timeout=${TIMEOUT_MS}`]);
  });
  afterAll(async () => {
    await node.stop();
    await redis.stop();
  });

  const readyz = async (server: TestNode) => (await fetch(`${server.httpUrl}/readyz`)).status;

  test("requests get status 100 while Redis is down, on the same connections, and succeed again after", async () => {
    const client = await TestClient.open(node.url);
    const key = `fault:${crypto.randomUUID()}`;
    expect(await client.ask({ KV_SET: { [key]: 1 } })).toEqual([
      { KV_SET_RSP: { st: 20, k: key } },
    ]);
    expect(await readyz(node)).toBe(200);

    await redis.kill();
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      client.command({ KV_GET: [key, `${key}:${i}`] });
      client.command({ KV_SETQ: { [`${key}:${i}`]: i } });
      client.command({ KV_COUNT: {} });
    }
    for (let i = 0; i < 20; i++) {
      expect(await client.take(4)).toEqual([
        { KV_GET_RSP: { st: 100, k: key } },
        { KV_GET_RSP: { st: 100, k: `${key}:${i}` } },
        { KV_SETQ_RSP: { st: 100, k: `${key}:${i}` } },
        { KV_COUNT_RSP: { st: 100, m: expect.any(String) } },
      ]);
    }
    // Generous bound: what matters is that nothing waits for Redis to return.
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 10);
    expect(await readyz(node)).toBe(503);
    expect((await fetch(`${node.httpUrl}/healthz`)).status).toBe(200);

    await redis.restart();
    await waitFor("the node to answer through Redis again", async () => {
      const [answer] = (await client.ask({ KV_COUNT: {} })) as Rsp[];
      return answer?.KV_COUNT_RSP?.st === 1;
    });
    expect(await client.ask({ KV_ADD: { [key]: 2 } })).toEqual([
      { KV_ADD_RSP: { st: 20, k: key } },
    ]);
    expect(await readyz(node)).toBe(200);
    client.close();
  }, 30_000);

  test("a node started while Redis is down starts unready and becomes ready when Redis comes up", async () => {
    await redis.kill();
    const late = startNode([`--redis-url=${redis.url}`, `--command-timeout=${TIMEOUT_MS}`]);
    try {
      expect(await readyz(late)).toBe(503);
      const client = await TestClient.open(late.url);
      expect(await client.ask({ KV_CONTAINS: ["x"] })).toEqual([
        { KV_CONTAINS_RSP: { st: 100, k: "x" } },
      ]);
      await redis.restart();
      await waitFor("the late node to become ready", async () => (await readyz(late)) === 200);
      expect(await client.ask({ KV_CONTAINS: ["x"] })).toEqual([
        { KV_CONTAINS_RSP: { st: 22, k: "x" } },
      ]);
      client.close();
    } finally {
      await late.stop();
    }
  }, 30_000);
});
