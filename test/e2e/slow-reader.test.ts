import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TestClient } from "../support/client.ts";
import { procStatusBytes as memory } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { type RedisServer, startRedis, waitFor } from "../support/redis.ts";
import { spawnServer } from "../support/server.ts";

const REQUESTS = 50_000;
const MB = 1024 * 1024;

/**
 * A client pipelines 50,000 KV_GET of one large value and never reads: the
 * node closes it with 1008 and its peak RSS stays within 64 MB of idle,
 * whatever the store (the Redis client would otherwise hold every reply).
 */
describe("a slow reader costs the node a bounded amount of memory", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());

  const cases = [
    { store: "memory", size: 1024 },
    { store: "memory", size: 8192 },
    { store: "redis", size: 1024 },
    { store: "redis", size: 8192 },
  ] as const;
  for (const { store, size } of cases) {
    test(`${store} store, ${size}-byte values: closed with 1008, peak RSS under idle + 64 MB`, async () => {
      const args = store === "redis" ? [`--redis-url=${redis.url}`] : [];
      const node = await spawnServer({ args: ["--max-payload=16384", ...args] });
      try {
        // The start line comes before the Redis connection is up: a KV_SET sent then answers 100.
        await waitFor("the node to be ready", async () => {
          return (await fetch(`${node.httpUrl}/readyz`)).status === 200;
        });
        const helper = await TestClient.open(node.url);
        const value = JSON.stringify("v".repeat(size - 2));
        helper.send(`{"KV_SET":{"big":${value}}}`);
        const [set] = (await helper.take(1)) as { KV_SET_RSP: { st: number } }[];
        // 21 when an earlier case on the same Redis stored it already.
        expect([20, 21]).toContain(set?.KV_SET_RSP.st ?? 0);
        const idle = memory(node.pid, "VmRSS");

        const raw = await RawClient.open("127.0.0.1", Number(new URL(node.url).port));
        raw.socket.pause();
        for (let i = 0; i < REQUESTS; i++) raw.sendText('{"KV_GET":["big"]}');
        // The reader stays paused until the node gives up on it: with the Redis store the
        // replies come after the requests were read, so reading them earlier would drain
        // the backlog the node is meant to refuse.
        await waitFor(
          "the node to close the paused reader with 1008",
          () => node.output().includes('"closeCode":1008'),
          30_000,
        );
        raw.socket.resume();
        expect(await raw.ended()).toBe(1008);
        expect(raw.texts).toBeLessThan(REQUESTS);

        const peak = memory(node.pid, "VmHWM");
        expect(peak - idle).toBeLessThan(64 * MB);
        expect(await helper.ask({ KV_CONTAINS: ["big"] })).toEqual([
          { KV_CONTAINS_RSP: { st: 23, k: "big" } },
        ]);
        helper.close();
      } finally {
        await node.stop();
      }
    });
  }
});
