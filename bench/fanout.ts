/**
 * `bun run bench -- --fanout` (also `bun run bench:fanout`): change events
 * fanned out to many watchers. One
 * writer keeps `window` KV_SET of keys under one prefix in flight through the
 * first node; `watchers` connections watch that prefix, spread over the
 * nodes (two nodes on one Redis or on a 3-master Redis Cluster, or one node
 * on the memory store). Reports
 * events delivered per second over all watchers, and the latency from each
 * write's answer to each of its events' arrival (negative when the event
 * came first), in microseconds.
 *
 *   bun run bench -- --fanout --store=redis --watchers=1000 --seconds=5 --window=8
 *   bun run bench -- --fanout --store=redis-cluster
 */
import { startRedisCluster } from "../test/support/redis.ts";
import { newHistogram, summarise } from "./latency.ts";
import { loadAverage, type SpawnedServer, startNode, withRedis } from "./process.ts";
import type { FanoutResult, FanoutSettings, FanoutStore } from "./results.ts";

const PREFIX = "fan:";
const V2 = "kvfleet.v2";

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, V2);
    ws.onopen = () =>
      ws.protocol === V2 ? resolve(ws) : reject(new Error(`${url} did not select ${V2}`));
    ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
  });
}

/** The number after `"k":"fan:` in an event, without parsing the frame. */
function eventKeyIndex(text: string): number {
  const at = text.indexOf(`"k":"${PREFIX}`);
  if (at < 0) return -1;
  return Number.parseInt(text.slice(at + 5 + PREFIX.length), 10);
}

async function fanout(
  urls: string[],
  store: string,
  watchers: number,
  seconds: number,
  window: number,
  valueSize: number,
): Promise<FanoutResult> {
  const value = JSON.stringify({ v: "x".repeat(Math.max(0, valueSize - 8)) });
  const sockets = await Promise.all(
    Array.from({ length: watchers }, (_, i) => open(urls[i % urls.length] as string)),
  );
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve, reject) => {
          ws.onmessage = (e) => {
            if (String(e.data).includes('"KV_WATCH_RSP":{"st":1')) resolve();
            else reject(new Error(`KV_WATCH answered ${e.data}`));
          };
          ws.send(`{"id":0,"KV_WATCH":{"prefixes":["${PREFIX}"]}}`);
        }),
    ),
  );
  const answeredAt: number[] = [];
  const sentAt: number[] = [];
  const latency = newHistogram();
  const sinceSent = newHistogram();
  let events = 0;
  /** Event arrivals of writes not answered yet, per write index. */
  const early = new Map<number, number[]>();
  for (const ws of sockets) {
    ws.onmessage = (e) => {
      const now = performance.now();
      const i = eventKeyIndex(String(e.data));
      if (i < 0) return;
      events++;
      sinceSent.recordValue(Math.max(1, Math.round((now - (sentAt[i] ?? now)) * 1000)));
      const answered = answeredAt[i];
      if (answered === undefined) {
        const list = early.get(i);
        if (list === undefined) early.set(i, [now]);
        else list.push(now);
      } else {
        latency.recordValue(Math.max(1, Math.round((now - answered) * 1000)));
      }
    };
  }
  const writer = await open(urls[0] as string);
  let sent = 0;
  let answered = 0;
  const deadline = performance.now() + seconds * 1000;
  const send = () => {
    const i = sent++;
    sentAt[i] = performance.now();
    writer.send(`{"id":${i},"KV_SET":{"${PREFIX}${i}":${value}}}`);
  };
  await new Promise<void>((resolve) => {
    writer.onmessage = (e) => {
      const text = String(e.data);
      const id = Number.parseInt(text.slice(6), 10);
      answeredAt[id] = performance.now();
      // Events that came before their write's answer count as at most 1 µs late.
      for (const _ of early.get(id) ?? []) latency.recordValue(1);
      early.delete(id);
      answered++;
      if (performance.now() < deadline) send();
      else if (answered === sent) resolve();
    };
    for (let i = 0; i < window; i++) send();
  });
  const elapsed = seconds;
  // The last events may still be on their way.
  const expected = answered * watchers;
  const until = performance.now() + 5000;
  while (events < expected && performance.now() < until) await Bun.sleep(10);
  const total = (performance.now() - deadline) / 1000 + elapsed;
  for (const ws of [...sockets, writer]) ws.close();
  return {
    store,
    nodes: urls.length,
    watchers,
    writes: answered,
    writesPerSecond: Math.round(answered / elapsed),
    eventsPerSecond: Math.round(events / total),
    missing: expected - events,
    answerToEventUs: summarise(latency),
    writeToEventUs: summarise(sinceSent),
    load: loadAverage(),
  };
}

/** `count` nodes with `store` (none: the memory store), `run` against them, then stopped. */
async function withNodes<T>(
  store: string[],
  count: number,
  run: (nodes: SpawnedServer[]) => Promise<T>,
): Promise<T> {
  const nodes: SpawnedServer[] = [];
  try {
    for (let i = 0; i < count; i++)
      nodes.push(
        await startNode(undefined, {
          args: ["--max-payload=65536", "--max-connections=100000", ...store],
        }),
      );
    return await run(nodes);
  } finally {
    for (const node of nodes) await node.stop();
  }
}

/** Runs `run` with the node arguments of a fresh store of that kind, stopped after. */
async function withStore<T>(store: FanoutStore, run: (args: string[]) => Promise<T>): Promise<T> {
  if (store === "memory") return run([]);
  if (store === "redis") return withRedis((redis) => run([`--redis-url=${redis.url}`]));
  const cluster = await startRedisCluster();
  try {
    return await run([`--redis-cluster=${cluster.urls.join(",")}`]);
  } finally {
    await cluster.stop();
  }
}

/** One fan-out run on a fresh store: two nodes (one on the memory store), stopped after. */
export function fanoutRun(settings: FanoutSettings): Promise<FanoutResult> {
  const { store, watchers, seconds, window, valueSize } = settings;
  return withStore(store, (args) =>
    withNodes(args, store === "memory" ? 1 : 2, (nodes) =>
      fanout(
        nodes.map((n) => n.url),
        store,
        watchers,
        seconds,
        window,
        valueSize,
      ),
    ),
  );
}

export function printFanout(result: FanoutResult, window: number): void {
  const l = result.answerToEventUs;
  console.log(
    `fan-out on ${result.store} (${result.nodes} node${result.nodes > 1 ? "s" : ""}), ${result.watchers} watchers of one prefix, writer window ${window}:`,
  );
  console.log(
    `  ${result.writesPerSecond} writes/s, ${result.eventsPerSecond} events/s delivered, ${result.missing} missing`,
  );
  const w = result.writeToEventUs;
  console.log(
    `  answer -> event µs: p50 ${l.p50} p99 ${l.p99} max ${l.max} (1: the event came first)`,
  );
  console.log(
    `  write sent -> event µs: p50 ${w.p50} p99 ${w.p99} max ${w.max}   load ${result.load.join(" ")}`,
  );
}
