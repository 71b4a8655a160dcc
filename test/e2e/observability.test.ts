import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TestClient } from "../support/client.ts";
import { scrape } from "../support/metrics.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { type RedisServer, startRedis, waitFor } from "../support/redis.ts";
import { type SpawnedServer, spawnServer } from "../support/server.ts";

/** The samples of a Prometheus text exposition, `name{labels}` -> value. */
describe("metrics", () => {
  let server: TestNode;
  beforeAll(() => {
    server = startNode();
  });
  afterAll(() => server.stop());

  test("count messages by command, responses by status, latency, connections", async () => {
    const client = await TestClient.open(server.url);
    await client.ask({ KV_SET: { a: 1, b: 2 } }, 2);
    await client.ask({ KV_SET: { a: 3 } });
    await client.ask({ KV_GET: ["a", "missing"] }, 2);
    client.send("not json");
    await client.next();
    const m = await scrape(server);
    expect(m.get('kvfleet_messages_total{command="KV_SET"}')).toBe(2);
    expect(m.get('kvfleet_messages_total{command="KV_GET"}')).toBe(1);
    expect(m.get('kvfleet_messages_total{command="KV_ERR"}')).toBe(1);
    expect(m.get('kvfleet_responses_total{status="20"}')).toBe(2);
    expect(m.get('kvfleet_responses_total{status="21"}')).toBe(1);
    expect(m.get('kvfleet_responses_total{status="1"}')).toBe(1);
    expect(m.get('kvfleet_responses_total{status="22"}')).toBe(1);
    expect(m.get('kvfleet_responses_total{status="3"}')).toBe(1);
    expect(m.get('kvfleet_command_duration_seconds_count{command="KV_SET"}')).toBe(2);
    expect(m.get('kvfleet_command_duration_seconds_bucket{le="+Inf",command="KV_GET"}')).toBe(1);
    expect(m.get("kvfleet_connections")).toBe(1);
    expect(m.get("kvfleet_store_up")).toBe(1);
    expect(m.get("kvfleet_store_errors_total")).toBe(0);
    expect(m.get("process_resident_memory_bytes")).toBeGreaterThan(0);
    expect([...m.keys()].some((k) => k.startsWith("nodejs_eventloop_lag"))).toBe(false);
    client.close();
    await client.closed();
    await waitFor("the connection gauge to drop", async () => {
      return (await scrape(server)).get("kvfleet_connections") === 0;
    });
  });
});

/** The JSON lines among what a process printed, parsed. */
function events(server: SpawnedServer): Record<string, unknown>[] {
  return server
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{") && line.endsWith("}"))
    .map((line) => JSON.parse(line));
}

// A process: what an operator reads is its stdout and stderr, whoever writes there
// (the Redis client too), and a stored value must be in none of it.
describe("store state in logs and metrics", () => {
  let redis: RedisServer;
  let node: SpawnedServer;
  beforeAll(async () => {
    redis = await startRedis();
    node = await spawnServer({ args: [`--redis-url=${redis.url}`, "--log-level=debug"] });
  });
  afterAll(async () => {
    await node.stop();
    await redis.stop();
  });

  test("Redis going down and coming back shows as one event each, store_up and errors", async () => {
    await waitFor("store up", async () => (await scrape(node)).get("kvfleet_store_up") === 1);
    const client = await TestClient.open(node.url);
    await client.ask({ KV_SET: { secret_key: "secret value 123" } });
    await redis.kill();
    await waitFor("store down", async () => (await scrape(node)).get("kvfleet_store_up") === 0);
    expect(await client.ask({ KV_GET: ["k"] })).toEqual([{ KV_GET_RSP: { st: 100, k: "k" } }]);
    expect((await scrape(node)).get("kvfleet_store_errors_total")).toBe(1);
    await redis.restart();
    await waitFor("store up again", async () => (await scrape(node)).get("kvfleet_store_up") === 1);
    client.close();

    const log = events(node);
    for (const line of log) {
      expect(line).toMatchObject({ time: expect.any(String), level: expect.any(String) });
      expect(line.event).toEqual(expect.any(String));
    }
    const stateChanges = log.filter((l) => l.event === "store up" || l.event === "store down");
    expect(stateChanges.map((l) => l.event)).toEqual(["store up", "store down", "store up"]);
    expect(node.output()).not.toContain("secret value 123");
  });
});
