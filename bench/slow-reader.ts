/**
 * `bun run bench -- --slow-reader`: what a client that sends and never reads
 * costs a node, and the other clients of that node.
 *
 * Per store and value size, on a fresh node: one key holds a value of that
 * size; a raw TCP WebSocket client pipelines `requests` KV_GETs of it in one
 * write and then reads nothing (its socket is paused, so its kernel receive
 * window fills and the node has to hold the answers); a second, ordinary
 * client meanwhile does one KV_GET at a time on another key and records each
 * round trip. The node's VmRSS is read every `pollMs`; the scenario ends when
 * the node closes the slow reader, or after `timeoutSeconds`. Only then does
 * the slow reader resume reading, to learn the close code the node sent.
 */
import { randomFillSync } from "node:crypto";
import { RawClient } from "../test/support/raw-client.ts";
import { redisCli } from "../test/support/redis.ts";
import { prefill, request } from "./client.ts";
import { consoleTable, mib, ms } from "./format.ts";
import { startProbe } from "./probe.ts";
import {
  loadAverage,
  machineInfo,
  type RedisServer,
  type SpawnedServer,
  statusBytes,
  withNode,
  withRedis,
} from "./process.ts";
import { valueText } from "./requests.ts";
import {
  type EndSignal,
  endText,
  meetsTarget,
  SLOW_READER_TARGET,
  type SlowReaderRun,
  type SlowReaderScenario,
  type SlowReaderSettings,
  type StoreType,
} from "./results.ts";

export const SLOW_READER_DEFAULTS: SlowReaderSettings = {
  stores: ["memory", "redis"],
  valueSizes: [1024, 8192],
  requests: 50_000,
  timeoutSeconds: 30,
  pollMs: 20,
  tailSeconds: 1,
  nodeArgs: ["--max-payload=65536", "--log-level=info"],
};

const OTHER_KEY = "slow-reader:other";
const SLOW_KEY = "key:0";
/** How long the resumed slow reader may take to read what the node still sends. */
const DRAIN_MS = 15_000;

/**
 * `count` masked text frames of `text` (ASCII, under 126 bytes), each with
 * its own mask, in one buffer: a client's pipelined requests, written at once.
 */
export function maskedTextFrames(text: string, count: number): Buffer {
  const payload = Buffer.from(text, "latin1");
  const n = payload.length;
  if (n >= 126) throw new Error("maskedTextFrames: text must be under 126 bytes");
  const size = 6 + n;
  const out = Buffer.allocUnsafe(size * count);
  const masks = randomFillSync(Buffer.allocUnsafe(4 * count));
  for (let f = 0, o = 0; f < count; f++, o += size) {
    out[o] = 0x81;
    out[o + 1] = 0x80 | n;
    masks.copy(out, o + 2, 4 * f, 4 * f + 4);
    for (let i = 0; i < n; i++)
      out[o + 6 + i] = (payload[i] as number) ^ (masks[4 * f + (i & 3)] as number);
  }
  return out;
}

/** The close code of the first client-error line in a node's log output, if any. */
export function loggedCloseCode(output: string): number | null {
  for (const line of output.split("\n")) {
    if (!line.includes('"event":"client error"')) continue;
    const match = /"closeCode":(\d+)/.exec(line);
    if (match) return Number(match[1]);
  }
  return null;
}

/** The node's open WebSocket connections from /metrics, or -1 if it did not answer in time. */
async function openConnections(httpUrl: string): Promise<number> {
  try {
    const response = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(1000) });
    const match = /^kvfleet_connections (\d+)/m.exec(await response.text());
    return match ? Number(match[1]) : -1;
  } catch {
    return -1;
  }
}

/** One scenario on a node already started, with `SLOW_KEY` holding a value of `valueSize`. */
async function measure(
  node: SpawnedServer,
  store: StoreType,
  valueSize: number,
  settings: SlowReaderSettings,
): Promise<SlowReaderScenario> {
  const set = await request(
    node.url,
    `{"KV_SET":{${JSON.stringify(OTHER_KEY)}:${valueText(100)}}}`,
  );
  if (!/"st":2[01][,}]/.test(set))
    throw new Error(`KV_SET of ${OTHER_KEY} failed: ${set.slice(0, 200)}`);
  const frames = maskedTextFrames(`{"KV_GET":[${JSON.stringify(SLOW_KEY)}]}`, settings.requests);
  const probe = await startProbe(node.url, OTHER_KEY);
  const { hostname, port } = new URL(node.url);
  const slow = await RawClient.open(hostname, Number(port));
  slow.socket.pause();
  let tcpEnded = false;
  void slow.ended().then(() => {
    tcpEnded = true;
  });
  await Bun.sleep(500);
  const idle = statusBytes(node.pid);
  const rss: [number, number][] = [];
  let peak = idle;
  const t0 = performance.now();
  const sample = () => {
    const now = statusBytes(node.pid);
    if (now === 0) return;
    rss.push([Math.round(performance.now() - t0), now]);
    if (now > peak) peak = now;
  };
  const sampler = setInterval(sample, settings.pollMs);

  probe.record();
  slow.socket.write(frames);
  let signal: EndSignal = "timeout";
  let gauge = -1;
  let gaugeAsked = false;
  let lastAsked = 0;
  const deadline = t0 + settings.timeoutSeconds * 1000;
  while (performance.now() < deadline) {
    if (loggedCloseCode(node.output()) !== null) signal = "log";
    else if (gauge >= 0 && gauge < 2) signal = "metrics";
    else if (tcpEnded) signal = "tcp";
    else if (node.process.exitCode !== null || node.process.signalCode !== null)
      signal = "node exited";
    if (signal !== "timeout") break;
    // Connections: the probe and the slow reader; fewer means the node closed one.
    if (!gaugeAsked && performance.now() - lastAsked >= 250) {
      gaugeAsked = true;
      lastAsked = performance.now();
      void openConnections(node.httpUrl).then((n) => {
        gauge = n;
        gaugeAsked = false;
      });
    }
    await Bun.sleep(settings.pollMs);
  }
  const afterMs = Math.round(performance.now() - t0);
  // What the node does right after (freeing, catching up) counts for the other client too.
  await Bun.sleep(settings.tailSeconds * 1000);
  const other = { ...(await probe.stop()), worstSentMs: Math.round(probe.worstSentAt() - t0) };
  const closed = signal !== "timeout";
  if (closed) {
    slow.socket.resume();
    await Promise.race([slow.ended(), Bun.sleep(DRAIN_MS)]);
  }
  slow.socket.destroy();
  sample();
  clearInterval(sampler);
  const hwm = statusBytes(node.pid, "VmHWM");
  const end = {
    closed,
    signal,
    afterMs,
    closeCode: (await Promise.race([slow.ended(), Bun.sleep(100).then(() => null)])) ?? null,
    loggedCode: loggedCloseCode(node.output()),
    answersRead: slow.texts,
  };
  await Bun.sleep(1000);
  return {
    store,
    valueSize,
    requests: settings.requests,
    idleRssBytes: idle,
    peakRssBytes: peak,
    hwmBytes: hwm,
    rssAfterBytes: statusBytes(node.pid),
    end,
    other,
    rss,
  };
}

const TABLE = consoleTable<SlowReaderScenario>([
  ["store", -6, (s) => s.store],
  ["value", 6, (s) => s.valueSize],
  ["idleMB", 7, (s) => mib(s.idleRssBytes)],
  ["peakMB", 7, (s) => mib(s.peakRssBytes)],
  ["+MB", 7, (s) => mib(s.peakRssBytes - s.idleRssBytes)],
  ["hwmMB", 7, (s) => mib(s.hwmBytes)],
  ["ended", -32, endText],
  ["after s", 7, (s) => (s.end.afterMs / 1000).toFixed(2)],
  ["read", 6, (s) => s.end.answersRead],
  ["p99 ms", 7, (s) => ms(s.other.latencyUs.p99)],
  ["max ms", 7, (s) => ms(s.other.latencyUs.max)],
  ["gets", 6, (s) => s.other.requests],
  ["target", 0, (s) => (meetsTarget(s) ? "met" : "not met")],
]);

/** Fails on settings no scenario can run with. */
function check(settings: SlowReaderSettings): void {
  for (const store of settings.stores)
    if (store !== "memory" && store !== "redis") throw new Error(`unknown store ${store}`);
  for (const size of settings.valueSizes)
    if (!(Number.isInteger(size) && size >= 10 && size <= 60_000))
      throw new Error(`value size ${size} is not an integer in [10, 60000]`);
  if (!(Number.isInteger(settings.requests) && settings.requests >= 1))
    throw new Error("requests must be an integer >= 1");
  if (!(settings.timeoutSeconds > 0)) throw new Error("timeout must be > 0 seconds");
}

/** One scenario on a fresh node of `store`, on `redis` (flushed) for the Redis store. */
async function scenario(
  store: StoreType,
  valueSize: number,
  redis: RedisServer | undefined,
  settings: SlowReaderSettings,
): Promise<SlowReaderScenario> {
  if (redis) await redisCli(redis.port, "FLUSHALL");
  return withNode(
    store === "redis" ? redis : undefined,
    { args: settings.nodeArgs },
    async (node) => {
      await prefill([node.url], 1, valueSize);
      return measure(node, store, valueSize, settings);
    },
  );
}

/** Every store x value size scenario, each on a fresh node, printing a row each. */
export async function slowReader(settings: SlowReaderSettings): Promise<SlowReaderRun> {
  check(settings);
  const machine = machineInfo();
  const started = new Date();
  console.log(
    `slow reader: ${settings.requests} pipelined KV_GETs never read, values of ${settings.valueSizes.join(", ")} bytes, closed within ${settings.timeoutSeconds} s or not; target peak <= idle + ${mib(SLOW_READER_TARGET.growthBytes)} MB, other client's worst < ${SLOW_READER_TARGET.worstLatencyMs} ms`,
  );
  console.log(TABLE.header);
  const run = async (redis?: RedisServer) => {
    const scenarios: SlowReaderScenario[] = [];
    for (const store of settings.stores) {
      for (const valueSize of settings.valueSizes) {
        const s = await scenario(store, valueSize, redis, settings);
        scenarios.push(s);
        console.log(TABLE.line(s));
        if (s.other.errors > 0)
          console.log(`  ! other client: ${s.other.errorSamples.slice(0, 2).join(" | ")}`);
      }
    }
    return scenarios;
  };
  const scenarios = await (settings.stores.includes("redis") ? withRedis(run) : run());
  machine.loadavgAfter = loadAverage();
  const finished = new Date();
  console.log(`slow reader: ${Math.round((finished.getTime() - started.getTime()) / 1000)} s`);
  return {
    started: started.toISOString(),
    finished: finished.toISOString(),
    machine,
    settings,
    scenarios,
  };
}
