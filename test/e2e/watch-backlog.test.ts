import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { scrape } from "../support/metrics.ts";
import { startNode } from "../support/node.ts";
import { RawClient } from "../support/raw-client.ts";
import { type RedisServer, startRedis, waitFor } from "../support/redis.ts";
import { V2Client } from "../support/v2-client.ts";

/** Events of 16 kB: 16 MB in all, far past what the kernel's socket buffers hold. */
const EVENTS = 1024;
const VALUE_BYTES = 16 * 1024;
/**
 * Written in batches of 512 kB, each once the reading watcher has had the one
 * before, so that only a watcher that does not read ever holds more than the
 * backlog (a burst of events bigger than it would close any watcher).
 */
const BATCH = 32;
const MAX_BACKLOG = 1024 * 1024;

/**
 * Events count toward a connection's backlog: a watcher that stops reading
 * is closed with 1008 rather than its events dropped or held without bound,
 * while a watcher of the same node that reads gets every event, during and
 * after.
 */
describe("a watcher that does not read its events", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.stop());

  for (const store of ["memory", "redis"] as const) {
    test(`${store} store: the paused watcher is closed with 1008, a reading watcher of the same node misses nothing`, async () => {
      const args = store === "redis" ? [`--redis-url=${redis.url}`] : [];
      const node = startNode([
        `--max-backlog=${MAX_BACKLOG}`,
        "--max-payload=1048576",
        "--command-timeout=5000",
        ...args,
      ]);
      const clients: V2Client[] = [];
      let raw: RawClient | undefined;
      try {
        await waitFor("the node to be ready", async () => {
          return (await fetch(`${node.httpUrl}/readyz`)).status === 200;
        });
        const p = `slow:${crypto.randomUUID().slice(0, 8)}:`;
        const fast = await V2Client.open(node.url);
        const writer = await V2Client.open(node.url);
        clients.push(fast, writer);
        const w = await fast.watch({ prefixes: [p] });

        raw = await RawClient.open(
          "127.0.0.1",
          node.port,
          "Sec-WebSocket-Protocol: kvfleet.v2\r\n",
        );
        expect(raw.head).toMatch(/^Sec-WebSocket-Protocol: kvfleet\.v2$/im);
        raw.sendText(`{"id":1,"KV_WATCH":{"prefixes":[${JSON.stringify(p)}]}}`);
        const slow = raw;
        await waitFor("the paused watcher's KV_WATCH answer", () => slow.texts === 1);
        expect((await scrape(node)).get("kvfleet_watches")).toBe(2);
        slow.socket.pause();

        const filler = "x".repeat(VALUE_BYTES);
        const value = (i: number) => JSON.stringify(`${i}:${filler}`);
        const keyOf = (i: number) => `${p}${i % 10}`;
        const closedSlow = () => node.output().includes('"closeCode":1008');
        let closedAfter = -1;
        for (let i = 0; i < EVENTS; i += BATCH) {
          for (let j = i; j < i + BATCH; j++) {
            writer.send(`{"KV_SETQ":{${JSON.stringify(keyOf(j))}:${value(j)}}}`);
          }
          await fast.untilEvents(w, i + BATCH, undefined, 10_000);
          if (closedAfter < 0 && closedSlow()) closedAfter = i + BATCH;
        }
        // Closed while the writes went on, well before the end.
        expect(closedAfter).toBeGreaterThan(0);
        expect(closedAfter).toBeLessThan(EVENTS);
        slow.socket.resume();
        const ended = await Promise.race([
          slow.ended(),
          Bun.sleep(10_000).then(() => "still open"),
        ]);
        expect(ended).toBe(1008);
        expect(slow.texts).toBeLessThan(EVENTS + 1);

        // Later writes reach the reading watcher too.
        const after = Array.from({ length: 10 }, (_, i) => EVENTS + i);
        for (const i of after) writer.send(`{"KV_SETQ":{${JSON.stringify(keyOf(i))}:${value(i)}}}`);
        const total = EVENTS + after.length;
        await fast.untilEvents(w, total, undefined, 20_000);
        const events = fast.events(w);
        expect(events).toHaveLength(total);
        const seen = events.map((e) => {
          const { k, op, v } = e.json.KV_EVENT as { k: string; op: string; v: string };
          const i = Number(v.slice(0, v.indexOf(":")));
          expect({ k, op, v }).toEqual({ k: keyOf(i), op: "set", v: `${i}:${filler}` });
          return i;
        });
        expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
        for (let j = 0; j < 10; j++) {
          const key = `${p}${j}`;
          const last = fast.events(w, key).at(-1)?.text ?? "";
          const got = await writer.ask({ KV_GET: [key] });
          expect(got.text.slice(got.text.indexOf('"v":') + 4, -3)).toBe(
            last.slice(last.indexOf('"v":') + 4, -2),
          );
        }
        expect(fast.violations).toEqual([]);
        expect(fast.isClosed).toBe(false);
        expect(writer.isClosed).toBe(false);
        // The one 1008 of the node's log is the paused watcher's.
        expect(node.output().split('"closeCode":1008').length - 1).toBe(1);
        expect(writer.other).toEqual([]);
        await waitFor("the closed watcher's watch to end", async () => {
          return (await scrape(node)).get("kvfleet_watches") === 1;
        });
      } finally {
        raw?.socket.destroy();
        for (const client of clients) client.close();
        await node.stop();
      }
    }, 60_000);
  }
});
