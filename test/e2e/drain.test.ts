import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { queryCount as queries, TestClient, upgradeStatus } from "../support/client.ts";
import { type RedisServer, redisCli, startRedis, waitFor } from "../support/redis.ts";
import { spawnServer } from "../support/server.ts";

const IN_FLIGHT = 1000;

describe("graceful drain on SIGTERM", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());

  // With a window of 1,000 every request is at the store when the drain begins;
  // with 400, the 600 queued behind the window are dropped unexecuted.
  for (const window of [IN_FLIGHT, 400]) {
    test(`window ${window}: of 1,000 requests the executed are answered, then 1001, exit 0`, async () => {
      await redisCli(redis.port, "FLUSHALL");
      const node = await spawnServer({
        args: [
          `--redis-url=${redis.url}`,
          "--command-timeout=20000",
          "--drain-timeout=30",
          `--max-in-flight=${window}`,
        ],
      });
      try {
        const client = await TestClient.open(node.url);
        const watcher = await TestClient.open(node.url);
        const before = await queries(watcher);
        // Redis holds every write until unpaused, so the window stays full in the node.
        await redisCli(redis.port, "CLIENT", "PAUSE", "60000", "WRITE");
        const keys = Array.from({ length: IN_FLIGHT }, (_, i) => `drain-${i}`);
        for (const key of keys) client.send(`{"KV_SET":{"${key}":${JSON.stringify(key)}}}`);
        await waitFor("the node to receive every request", async () => {
          return (await queries(watcher)) >= before + IN_FLIGHT + 1;
        });

        process.kill(node.pid, "SIGTERM");
        // The log line comes once draining is set. Asked before, /readyz would ping Redis
        // behind the paused writes and hang until Bun's 10 s HTTP idle timeout resets it.
        await waitFor("the drain to start", () =>
          node.output().includes('"event":"drain started"'),
        );
        expect((await fetch(`${node.httpUrl}/readyz`)).status).toBe(503);
        expect(await upgradeStatus(`${node.httpUrl}/`)).toBe(503);
        expect(client.unread).toBe(0);

        await redisCli(redis.port, "CLIENT", "UNPAUSE");
        const replies = await client.take(window);
        const executed = keys.slice(0, window);
        expect(replies).toEqual(executed.map((k) => ({ KV_SET_RSP: { st: 20, k } })));
        expect((await client.closed()).code).toBe(1001);
        expect(client.unread).toBe(0);
        expect((await watcher.closed()).code).toBe(1001);
        expect(await node.process.exited).toBe(0);
        expect((await redisCli(redis.port, "DBSIZE")).trim()).toBe(String(window));
        const events = node
          .output()
          .split("\n")
          .filter((line) => line.startsWith("{"))
          .map((line) => JSON.parse(line).event);
        expect(events).toContain("drain requested");
        expect(events.at(-1)).toBe("stopped");
      } finally {
        await redisCli(redis.port, "CLIENT", "UNPAUSE");
        await node.stop();
      }
    });
  }
});

describe("drain with nothing in flight", () => {
  test("SIGINT on an idle memory node exits 0 at once and closes clients with 1001", async () => {
    const node = await spawnServer();
    const client = await TestClient.open(node.url);
    await client.ask({ KV_COUNT: {} });
    process.kill(node.pid, "SIGINT");
    expect((await client.closed()).code).toBe(1001);
    expect(await node.process.exited).toBe(0);
  });
});

describe("drain that runs out of time", () => {
  test("waiting connections close with 1011, idle ones 1001, one warn line, exit 1", async () => {
    const redis = await startRedis();
    const node = await spawnServer({
      args: [`--redis-url=${redis.url}`, "--command-timeout=20000", "--drain-timeout=1"],
    });
    try {
      const waiting = await TestClient.open(node.url);
      const idle = await TestClient.open(node.url);
      expect(await idle.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: 0 } }]);
      await redisCli(redis.port, "CLIENT", "PAUSE", "60000", "WRITE");
      for (let i = 0; i < 3; i++) waiting.command({ KV_SET: { [`stuck-${i}`]: i } });
      const watcher = await TestClient.open(node.url);
      await waitFor("the node to receive the writes", async () => {
        return (await queries(watcher)) >= 6;
      });
      process.kill(node.pid, "SIGTERM");
      expect((await waiting.closed()).code).toBe(1011);
      expect((await idle.closed()).code).toBe(1001);
      expect(waiting.unread).toBe(0);
      expect(await node.process.exited).toBe(1);
      const events = node
        .output()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line));
      const warnings = events.filter((e) => e.level === "warn");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ event: "drain timed out", unanswered: 3 });
    } finally {
      await redisCli(redis.port, "CLIENT", "UNPAUSE");
      await node.stop();
      await redis.stop();
    }
  });
});
