import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { scrape } from "../support/metrics.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { type RedisServer, redisCli, startRedis, waitFor } from "../support/redis.ts";
import { V2Client } from "../support/v2-client.ts";

const reset = (w: number) => `{"KV_EVENT":{"w":${w},"op":"reset"}}`;
const set = (w: number, k: string, v: string) =>
  `{"KV_EVENT":{"w":${w},"k":${JSON.stringify(k)},"op":"set","v":${v}}}`;

/** How soon after Redis is back every watch must have its reset ("within a few seconds"). */
const RESET_WITHIN_MS = 5000;

/**
 * Redis is SIGKILLed and restarted on the same port under open watches: each
 * watch gets exactly one `reset` once events flow again, then the events of
 * later writes; one more interruption, one more reset.
 */
describe("watches across a Redis SIGKILL and restart", () => {
  let redis: RedisServer;
  let node: TestNode;
  let other: TestNode;
  const clients: V2Client[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    const args = [`--redis-url=${redis.url}`, "--command-timeout=300"];
    node = startNode(args);
    other = startNode(args);
    await waitFor("both nodes to be ready", async () => {
      const codes = await Promise.all(
        [node, other].map(async (n) => (await fetch(`${n.httpUrl}/readyz`)).status),
      );
      return codes.every((code) => code === 200);
    });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all([node?.stop(), other?.stop()]);
    await redis?.stop();
  });

  const open = async (on: TestNode) => {
    const client = await V2Client.open(on.url);
    clients.push(client);
    return client;
  };

  test("each watch gets one reset once Redis is back, then events flow again; once more on a second interruption; resets counted and logged", async () => {
    const p = `reset:${crypto.randomUUID().slice(0, 8)}:`;
    const key = `${p}k`;
    const one = await open(node);
    const two = await open(node);
    const far = await open(other);
    const writer = await open(other);
    const watches: [V2Client, number][] = [
      [one, await one.watch({ prefixes: [p] })],
      [one, await one.watch({ keys: [key] })],
      [two, await two.watch({ prefixes: [""] })],
      [far, await far.watch({ keys: [key] })],
    ];
    const onNode = watches.filter(([client]) => client !== far).length;
    /** Writes `value` once the writer's node reaches Redis again; awaits its event on every watch. */
    const write = async (value: string) => {
      await waitFor(`KV_SET ${value} to succeed`, async () => {
        const answer = await writer.ask({ KV_SET: { [key]: JSON.parse(value) } });
        const st = (answer.json.KV_SET_RSP as { st: number }[])[0]?.st;
        return st === 20 || st === 21;
      });
      for (const [client, w] of watches) {
        await client.until(`set ${value} on watch ${w}`, () =>
          client.texts(w, key).includes(set(w, key, value)),
        );
      }
    };
    await write("0");
    const before = await scrape(node);
    const resets = (client: V2Client, w: number) =>
      client.texts(w).filter((text) => text === reset(w)).length;

    for (let round = 1; round <= 2; round++) {
      await redis.kill();
      await redis.restart();
      const back = Date.now();
      for (const [client, w] of watches) {
        await client.until(
          `reset ${round} on watch ${w}`,
          () => resets(client, w) >= round,
          RESET_WITHIN_MS,
        );
      }
      expect(Date.now() - back).toBeLessThan(RESET_WITHIN_MS);
      await write(`${round}`);
      await write(`"after ${round}"`);
      for (const [client, w] of watches) {
        // Exactly one reset per interruption, and it came before the writes after it.
        expect(resets(client, w)).toBe(round);
        expect(client.texts(w).slice(-3)).toEqual([
          reset(w),
          set(w, key, `${round}`),
          set(w, key, `"after ${round}"`),
        ]);
      }
    }
    for (const [client, w] of watches) {
      expect(client.texts(w)).toEqual([
        set(w, key, "0"),
        reset(w),
        set(w, key, "1"),
        set(w, key, '"after 1"'),
        reset(w),
        set(w, key, "2"),
        set(w, key, '"after 2"'),
      ]);
      expect(client.violations).toEqual([]);
    }

    const after = await scrape(node);
    const delta = (name: string) => (after.get(name) as number) - (before.get(name) as number);
    expect(delta("kvfleet_watch_resets_total")).toBe(2);
    // Per watch of this node: two resets and four sets.
    expect(delta("kvfleet_events_total")).toBe(onNode * 6);
    expect(after.get("kvfleet_watches")).toBe(onNode);
    const warned = node
      .output()
      .split("\n")
      .filter((line) => line.includes('"watches reset"'))
      .map((line) => JSON.parse(line) as { level: string; watches: number });
    expect(warned).toHaveLength(2);
    for (const line of warned) {
      expect(line.level).toBe("warn");
      expect(line.watches).toBe(onNode);
    }
  }, 30_000);
});

describe("/readyz says what Redis keeps from working", () => {
  test("a Redis user without CONFIG: ready, with how to turn expire events on once a watch found out", async () => {
    const redis = await startRedis();
    const user = "noconfig";
    await redisCli(redis.port, "ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-config");
    await redisCli(redis.port, "CONFIG", "SET", "notify-keyspace-events", "");
    const node = startNode([`--redis-url=redis://${user}:pw@127.0.0.1:${redis.port}`]);
    const readyz = async () => {
      const response = await fetch(`${node.httpUrl}/readyz`);
      return { status: response.status, lines: (await response.text()).trim().split("\n") };
    };
    try {
      await waitFor("the node to be ready", async () => (await readyz()).status === 200);
      expect(await readyz()).toEqual({ status: 200, lines: ["ready"] });
      const client = await V2Client.open(node.url);
      await client.watch({ prefixes: ["any:"] });
      const { status, lines } = await readyz();
      expect(status).toBe(200);
      expect(lines[0]).toBe("ready");
      expect(lines.slice(1).join("\n")).toContain('notify-keyspace-events to include "Ex"');
      client.close();
    } finally {
      await node.stop();
      await redis.stop();
    }
  });
});
