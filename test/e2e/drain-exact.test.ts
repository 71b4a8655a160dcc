import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TestClient } from "../support/client.ts";
import { startNode } from "../support/node.ts";
import { type RedisServer, redisCli, startRedis } from "../support/redis.ts";

type Shape = "burst" | "window";

const REPETITIONS = 20;
const BURST = 2000;
const WINDOW = 32;
const DRAIN_AFTER = 10;

/** Keys a client was told are stored (status 20), requests it sent, and how its connection closed. */
interface Outcome {
  stored: string[];
  sent: number;
  code: number;
}

/** A client that sends `BURST` KV_SET at once and records every answer until the close. */
async function burst(client: TestClient, prefix: string, progress: () => void): Promise<Outcome> {
  for (let i = 0; i < BURST; i++) client.send(`{"KV_SET":{"${prefix}${i}":${i}}}`);
  return collect(client, progress, () => BURST);
}

/** A client that keeps `WINDOW` KV_SET in flight, one more for each answer, until the close. */
async function windowed(
  client: TestClient,
  prefix: string,
  progress: () => void,
): Promise<Outcome> {
  let sent = 0;
  const next = () => client.send(`{"KV_SET":{"${prefix}${sent++}":${sent}}}`);
  for (let i = 0; i < WINDOW; i++) next();
  return collect(
    client,
    () => {
      progress();
      // The socket may already be closing; a send then goes nowhere.
      if (client.socket.readyState === WebSocket.OPEN) next();
    },
    () => sent,
  );
}

async function collect(
  client: TestClient,
  answered: () => void,
  sent: () => number,
): Promise<Outcome> {
  const stored: string[] = [];
  for (;;) {
    let reply: { KV_SET_RSP: { st: number; k: string } };
    try {
      reply = (await client.next()) as typeof reply;
    } catch {
      return { stored, sent: sent(), code: (await client.closed()).code };
    }
    expect(reply.KV_SET_RSP.st).toBe(20);
    stored.push(reply.KV_SET_RSP.k);
    answered();
  }
}

/**
 * One node on a real Redis, drained while clients keep writing: the keys in
 * Redis must be exactly the keys some client was answered 20 for.
 */
async function drainUnderLoad(redis: RedisServer, shapes: Shape[]) {
  await redisCli(redis.port, "FLUSHALL");
  // In this process, so that a test can drain a node many times quickly.
  const node = startNode([`--redis-url=${redis.url}`]);
  try {
    const clients = await Promise.all(shapes.map(() => TestClient.open(node.url)));
    // Drain once some answers came back: the burst is still arriving and the windows keep refilling.
    let answers = 0;
    let loaded: () => void = () => {};
    const underLoad = new Promise<void>((resolve) => {
      loaded = resolve;
    });
    const progress = () => {
      if (++answers === DRAIN_AFTER) loaded();
    };
    const outcomes = Promise.all(
      clients.map((client, i) =>
        shapes[i] === "burst"
          ? burst(client, `c${i}-`, progress)
          : windowed(client, `c${i}-`, progress),
      ),
    );
    await underLoad;
    const drained = await node.drain(10_000);
    await node.stop();
    const results = await outcomes;
    const answered = results.flatMap((r) => r.stored).sort();
    const keys = await listKeys(redis.port);
    const unanswered = results.reduce((n, r) => n + r.sent - r.stored.length, 0);
    return { answered, keys, codes: results.map((r) => r.code), drained, unanswered };
  } finally {
    // Stopped already unless the test failed first.
    await node.stop();
  }
}

/** Resolves once the node has read everything the client sent before: pings are answered in order. */
function barrier(client: TestClient): Promise<void> {
  return new Promise((resolve) => {
    client.socket.addEventListener("pong", () => resolve(), { once: true });
    client.socket.ping();
  });
}

async function listKeys(port: number): Promise<string[]> {
  const out = (await redisCli(port, "--scan")).trim();
  return out === "" ? [] : out.split("\n").sort();
}

describe("drain under load answers exactly what it executed", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());

  for (const shapes of [
    ["burst", "window"],
    ["burst", "window", "window"],
  ] as Shape[][]) {
    test(`${shapes.join(" + ")}: keys in Redis equal the 20 answers, ${REPETITIONS} times`, async () => {
      const mismatches: string[] = [];
      let unanswered = 0;
      for (let rep = 0; rep < REPETITIONS; rep++) {
        const run = await drainUnderLoad(redis, shapes);
        unanswered += run.unanswered;
        expect(run.drained).toEqual({ timedOut: false, unanswered: 0 });
        expect(run.codes).toEqual(shapes.map(() => 1001));
        if (run.keys.join() !== run.answered.join()) {
          mismatches.push(`rep ${rep}: ${run.keys.length} keys, ${run.answered.length} answers`);
        }
      }
      expect(mismatches).toEqual([]);
      // Requests kept arriving after the drain began, and none of them ran.
      expect(unanswered).toBeGreaterThan(0);
    });
  }

  test("a request read after the drain began is neither executed nor answered", async () => {
    await redisCli(redis.port, "FLUSHALL");
    const node = startNode([`--redis-url=${redis.url}`, "--command-timeout=20000"]);
    try {
      const busy = await TestClient.open(node.url);
      const idle = await TestClient.open(node.url);
      await redisCli(redis.port, "CLIENT", "PAUSE", "60000", "WRITE");
      busy.send('{"KV_SET":{"before":1}}');
      await barrier(busy);
      const drained = node.drain(20_000);
      busy.send('{"KV_SET":{"after":1}}');
      idle.send('{"KV_SET":{"idle-after":1}}');
      await barrier(busy);
      await redisCli(redis.port, "CLIENT", "UNPAUSE");
      expect(await busy.next()).toEqual({ KV_SET_RSP: { st: 20, k: "before" } });
      expect((await busy.closed()).code).toBe(1001);
      expect((await idle.closed()).code).toBe(1001);
      expect(busy.unread + idle.unread).toBe(0);
      expect(await drained).toEqual({ timedOut: false, unanswered: 0 });
      await node.stop();
      expect(await listKeys(redis.port)).toEqual(["before"]);
    } finally {
      await redisCli(redis.port, "CLIENT", "UNPAUSE");
      await node.stop();
    }
  });
});
