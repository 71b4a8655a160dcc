import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  ConnectError,
  ConnectionLostError,
  type ConnectOptions,
  connect,
  type Kvfleet,
  RequestTimeoutError,
  type WatchEvent,
} from "kvfleet-client";
import { type Haproxy, startHaproxy, stopHaproxy } from "../support/haproxy.ts";
import { scrape } from "../support/metrics.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { freePort, type RedisServer, startRedis } from "../support/redis.ts";
import { type SpawnedServer, spawnServer } from "../support/server.ts";

let redis: RedisServer;
const clients: Kvfleet[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(clients.map((db) => db.close()));
  await redis?.stop();
});

/** Connects with quick reconnects, and remembers the client so that afterAll closes it. */
async function open(url: string, options: ConnectOptions = {}): Promise<Kvfleet> {
  const db = await connect(url, {
    reconnect: { attempts: 40, minDelay: 20, maxDelay: 250 },
    ...options,
  });
  clients.push(db);
  return db;
}

/** Open WebSocket connections of each node. */
const connections = (nodes: TestNode[]) =>
  Promise.all(nodes.map(async (node) => (await scrape(node)).get("kvfleet_connections") ?? 0));

/** Collects a watch's events; `until` resolves once one matches. */
function recorder() {
  const events: WatchEvent[] = [];
  let wake = () => {};
  return {
    events,
    callback: (event: WatchEvent) => {
      events.push(event);
      wake();
    },
    until: (match: (event: WatchEvent) => boolean) =>
      new Promise<void>((resolve) => {
        wake = () => events.some(match) && resolve();
        wake();
      }),
  };
}

describe("through deploy/haproxy/haproxy.cfg to two nodes on one Redis", () => {
  let nodes: TestNode[] = [];
  let haproxy: Haproxy | undefined;
  beforeAll(async () => {
    nodes = [0, 1].map(() => startNode([`--redis-url=${redis.url}`]));
    haproxy = await startHaproxy(nodes.map((node) => new URL(node.url).host));
  });
  afterAll(async () => {
    await stopHaproxy(haproxy);
    await Promise.all(nodes.map((node) => node.stop()));
  });

  test("a drain mid-traffic: unanswered requests are sent again, none lost, none run twice; the watch gets one reset", async () => {
    const run = `drain-${Date.now()}`;
    const before = await connections(nodes);
    const db = await open(haproxy?.url as string, { maxInFlight: 16 });
    const after = await connections(nodes);
    const held = after.findIndex((n, i) => n > (before[i] as number));
    const [drained, other] = (held === 0 ? nodes : [...nodes].reverse()) as [TestNode, TestNode];
    const writer = await open(other.url);
    const watched = recorder();
    await db.watch({ prefixes: [`${run}:watched:`] }, watched.callback);
    await db.set(`${run}:list`, []);

    // KV_ADD and KV_APPEND tell a request run twice: a second add answers false, a second append doubles.
    const n = 400;
    let answered = 0;
    let drain: Promise<unknown> | undefined;
    const adds: Promise<boolean>[] = [];
    const appends: Promise<string>[] = [];
    for (let i = 0; i < n; i++) {
      adds.push(
        db.add(`${run}:k:${i}`, i).then((added) => {
          if (++answered === n / 4) drain = drained.drain(10_000);
          return added;
        }),
      );
      appends.push(db.append(`${run}:list`, [i]));
    }
    expect(await Promise.all(adds)).toEqual(adds.map(() => true));
    expect(await Promise.all(appends)).toEqual(appends.map(() => "ok"));
    expect(await drain).toEqual({ timedOut: false, unanswered: 0 });
    expect(db.stats.reconnects).toBe(1);
    expect(db.stats.resent).toBeGreaterThan(0);

    const keys = Array.from({ length: n }, (_, i) => `${run}:k:${i}`);
    const listed: string[] = [];
    for await (const key of writer.keys({ prefix: `${run}:k:` })) listed.push(key);
    expect(listed.sort()).toEqual([...keys].sort());
    const list = (await writer.get(`${run}:list`)) as number[];
    expect(list.length).toBe(n);
    expect([...list].sort((a, b) => a - b)).toEqual(keys.map((_, i) => i));

    // After the reset, events flow again from the other node's writes.
    await writer.set(`${run}:watched:after`, 1);
    await watched.until((event) => event.op === "set");
    expect(watched.events).toEqual([
      { op: "reset" },
      { op: "set", key: `${run}:watched:after`, value: 1 },
    ]);
  });
});

describe("a node killed with SIGKILL, then started again on its port", () => {
  const port = freePort();
  let server: SpawnedServer;
  const start = () => spawnServer({ args: [`--port=${port}`, `--redis-url=${redis.url}`] });
  beforeAll(async () => {
    server = await start();
  });
  afterAll(() => server?.stop());

  test("calls waiting on it reject with ConnectionLostError, outcome unknown, and are never sent again", async () => {
    const run = `kill-${Date.now()}`;
    const db = await open(server.url);
    expect(await db.set(`${run}:before`, 1)).toBe("created");
    const watched = recorder();
    await db.watch({ keys: [`${run}:watched`] }, watched.callback);
    // Without watches a client connects again only at its next call.
    const idle = await open(server.url);
    expect(await idle.has(`${run}:before`)).toBe(true);
    // Stopped, the node reads nothing: the calls are on their way, none can run.
    process.kill(server.pid, "SIGSTOP");
    const keys = [0, 1, 2, 3, 4].map((i) => `${run}:k:${i}`);
    const calls = keys.map((key) => db.add(key, 1));
    // Made in one turn, the five adds are one batch: one request, sent once this code yields.
    expect(db.stats).toMatchObject({ inFlight: 0, queued: 0 });
    await Promise.resolve();
    expect(db.stats).toMatchObject({ inFlight: 1, queued: 0 });
    process.kill(server.pid, "SIGKILL");
    const outcomes = await Promise.allSettled(calls);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe("rejected");
      const reason = (outcome as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(ConnectionLostError);
      expect(reason.outcome).toBe("unknown");
      expect(reason.message).toContain("may or may not have run");
    }
    server = await start();
    // The open watch has the client connect again at once; had it resent the adds, they would be there.
    await watched.until((event) => event.op === "reset");
    expect(await db.getMany(keys)).toEqual(new Map());
    expect(await db.get(`${run}:before`)).toBe(1);
    expect(db.stats).toMatchObject({ reconnects: 1, resent: 0, inFlight: 0, queued: 0 });
    expect(idle.stats).toMatchObject({ reconnects: 0, connected: false });
    expect(await idle.get(`${run}:before`)).toBe(1);
    expect(idle.stats).toMatchObject({ reconnects: 1, connected: true });
    await db.set(`${run}:watched`, 2);
    await watched.until((event) => event.op === "set");
    expect(watched.events).toEqual([
      { op: "reset" },
      { op: "set", key: `${run}:watched`, value: 2 },
    ]);
  });

  test("requestTimeout: a sent call times out as outcome unknown, a queued one as not run; late answers are dropped", async () => {
    const db = await open(server.url, { requestTimeout: 300, maxInFlight: 2, batch: false });
    const batched = await open(server.url, { requestTimeout: 300 });
    await db.set("timeout:a", "a");
    process.kill(server.pid, "SIGSTOP");
    const calls = [db.get("timeout:a"), db.get("timeout:a"), db.get("timeout:a")];
    expect(db.stats).toMatchObject({ inFlight: 2, queued: 1 });
    // One request of two calls: each call times out with it.
    const batch = [batched.get("timeout:a"), batched.get("timeout:b")];
    const outcomes = await Promise.allSettled([...calls, ...batch]);
    process.kill(server.pid, "SIGCONT");
    const reasons = outcomes.map((o) => (o as PromiseRejectedResult).reason);
    for (const reason of reasons) expect(reason).toBeInstanceOf(RequestTimeoutError);
    expect(reasons.map((reason) => reason.outcome)).toEqual([
      "unknown",
      "unknown",
      "not-run",
      "unknown",
      "unknown",
    ]);
    // The late answers come first and match no call: these get their own.
    await db.set("timeout:b", "b");
    expect(await db.get("timeout:b")).toBe("b");
    expect(await Promise.all([batched.get("timeout:a"), batched.get("timeout:b")])).toEqual([
      "a",
      "b",
    ]);
  });

  test("reconnect: false ends the client at the first lost connection; used up attempts end it too", async () => {
    const db = await open(server.url, { reconnect: false });
    const bounded = await open(server.url, {
      reconnect: { attempts: 2, minDelay: 10, maxDelay: 20 },
    });
    expect(await db.has("timeout:a")).toBe(true);
    const watched = recorder();
    await db.watch({ prefixes: ["timeout:"] }, watched.callback);
    process.kill(server.pid, "SIGSTOP");
    const call = db.get("timeout:a");
    process.kill(server.pid, "SIGKILL");
    await expect(call).rejects.toMatchObject({ name: "ConnectionLostError", outcome: "unknown" });
    await watched.until((event) => event.op === "closed");
    expect(watched.events).toEqual([{ op: "closed", error: expect.any(ConnectionLostError) }]);
    // Nothing listens on the port now: two attempts, then the client ends.
    await expect(bounded.get("timeout:a")).rejects.toMatchObject({
      name: "ConnectionLostError",
      outcome: "not-run",
      message: expect.stringContaining("gave up reconnecting after 2 attempts"),
    });
    await expect(bounded.get("timeout:a")).rejects.toBeInstanceOf(ConnectError);
    server = await start();
    await expect(db.get("timeout:a")).rejects.toMatchObject({
      name: "ConnectionLostError",
      outcome: "not-run",
    });
  });
});
