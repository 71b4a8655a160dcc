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
import { readFileSync } from "node:fs";
import { RawClient } from "../test/support/raw-client.ts";
import { type RedisServer, redisCli, startRedis } from "../test/support/redis.ts";
import { type SpawnedServer, spawnServer } from "../test/support/server.ts";
import { connect, type Latency, newHistogram, prefill, summarise, valueText } from "./load.ts";
import { rssBytes } from "./process.ts";

export type SlowReaderStore = "memory" | "redis";

export interface SlowReaderSettings {
  stores: SlowReaderStore[];
  /** Bytes of the read value's JSON text, one scenario each. */
  valueSizes: number[];
  /** KV_GETs the slow reader pipelines. */
  requests: number;
  /** How long to wait for the node to close the slow reader. */
  timeoutSeconds: number;
  /** Interval of the RSS samples. */
  pollMs: number;
  /** The other client goes on this long after the slow reader's end, still recorded. */
  tailSeconds: number;
  /** Arguments of every node besides the store's. */
  nodeArgs: string[];
}

export const SLOW_READER_DEFAULTS: SlowReaderSettings = {
  stores: ["memory", "redis"],
  valueSizes: [1024, 8192],
  requests: 50_000,
  timeoutSeconds: 30,
  pollMs: 20,
  tailSeconds: 1,
  nodeArgs: ["--max-payload=65536", "--log-level=info"],
};

/** The target after the fix of the backlog accounting (issue 8). */
export const SLOW_READER_TARGET = { growthBytes: 64 * 2 ** 20, worstLatencyMs: 100 };

/**
 * How the node's end of the slow reader was noticed: its log line for a client
 * error (which names the close code), its connection gauge dropping, the TCP
 * connection ending, the node exiting; or none of them before the timeout.
 */
export type EndSignal = "log" | "metrics" | "tcp" | "node exited" | "timeout";

export interface SlowReaderScenario {
  store: SlowReaderStore;
  valueSize: number;
  requests: number;
  /** VmRSS with both clients connected, before the slow reader sends. */
  idleRssBytes: number;
  /** Highest VmRSS sampled from the first request until the slow reader is gone. */
  peakRssBytes: number;
  /** VmHWM at the end: the highest RSS of the node's life, between samples too. */
  hwmBytes: number;
  /** VmRSS one second after the slow reader is gone. */
  rssAfterBytes: number;
  end: {
    closed: boolean;
    signal: EndSignal;
    /** Milliseconds from writing the requests to noticing the close (or the timeout). */
    afterMs: number;
    /** The code of the close frame the slow reader read once it resumed, if any. */
    closeCode: number | null;
    /** The close code the node logged, if it logged one. */
    loggedCode: number | null;
    /** Answers the slow reader read once it resumed. */
    answersRead: number;
  };
  other: {
    requests: number;
    errors: number;
    latencyUs: Latency;
    /** When the slowest request was sent, in ms since the slow reader's requests were written. */
    worstSentMs: number;
    errorSamples: string[];
  };
  /** [ms since the requests were written, VmRSS bytes], every pollMs. */
  rss: [number, number][];
}

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

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM), or 0 once the process is gone. */
function statusBytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
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

/**
 * The ordinary client: one KV_GET of `key` at a time, latency recorded
 * while `recording` is set; stop() waits (bounded) for the request in flight.
 */
async function startProbe(url: string, key: string) {
  const [ws] = await connect([url], 1);
  const socket = ws as WebSocket;
  const request = `{"KV_GET":[${JSON.stringify(key)}]}`;
  const prefix = `{"KV_GET_RSP":{${JSON.stringify(key)}:`;
  const histogram = newHistogram();
  const errorSamples: string[] = [];
  let requests = 0;
  let errors = 0;
  let recording = false;
  let running = true;
  let sentAt = 0;
  let worstUs = 0;
  let worstAt = 0;
  let settle: () => void = () => {};
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const fail = (text: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(text.slice(0, 200));
  };
  const send = () => {
    sentAt = performance.now();
    socket.send(request);
  };
  socket.onmessage = (event) => {
    const latency = Math.round((performance.now() - sentAt) * 1000) || 1;
    const text = event.data as string;
    if (recording) {
      requests++;
      histogram.recordValue(latency);
      if (latency > worstUs) {
        worstUs = latency;
        worstAt = sentAt;
      }
      if (!text.startsWith(prefix) || !text.endsWith(',"st":1}}')) fail(text);
    }
    if (running) send();
    else settle();
  };
  socket.onclose = (event) => {
    if (running) fail(`connection closed: ${event.code} ${event.reason}`);
    running = false;
    settle();
  };
  send();
  return {
    record() {
      recording = true;
    },
    /** performance.now() when the slowest recorded request was sent. */
    worstSentAt: () => worstAt,
    async stop() {
      running = false;
      const answered = await Promise.race([
        settled.then(() => true),
        Bun.sleep(5000).then(() => false),
      ]);
      if (!answered) fail("last request unanswered after 5 s");
      socket.onclose = null;
      socket.close();
      // HDR percentiles are a bucket's upper end: with a few samples p99 can pass the true max.
      const l = summarise(histogram);
      const cap = (n: number) => Math.min(n, l.max);
      const latencyUs = {
        ...l,
        p50: cap(l.p50),
        p90: cap(l.p90),
        p99: cap(l.p99),
        p999: cap(l.p999),
      };
      return { requests, errors, latencyUs, errorSamples };
    },
  };
}

/** Sets `key` to `value` over a fresh connection and checks the answer. */
async function setKey(url: string, key: string, value: string): Promise<void> {
  const [ws] = await connect([url], 1);
  const socket = ws as WebSocket;
  const text = await new Promise<string>((resolve) => {
    socket.onmessage = (event) => resolve(event.data as string);
    socket.send(`{"KV_SET":{${JSON.stringify(key)}:${value}}}`);
  });
  socket.close();
  if (!text.includes('"st":20') && !text.includes('"st":21'))
    throw new Error(`KV_SET of ${key} failed: ${text.slice(0, 200)}`);
}

/** One scenario on a node already started, with `SLOW_KEY` holding a value of `valueSize`. */
async function measure(
  node: SpawnedServer,
  store: SlowReaderStore,
  valueSize: number,
  settings: SlowReaderSettings,
): Promise<SlowReaderScenario> {
  await setKey(node.url, OTHER_KEY, valueText(100));
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
  const idle = rssBytes(node.pid);
  const rss: [number, number][] = [];
  let peak = idle;
  const t0 = performance.now();
  const sample = () => {
    const now = statusBytes(node.pid, "VmRSS");
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
    rssAfterBytes: statusBytes(node.pid, "VmRSS"),
    end,
    other,
    rss,
  };
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const ms = (us: number) => (us / 1000).toFixed(1);

/** How a scenario's slow reader ended, in a few words. */
export function endText(s: SlowReaderScenario): string {
  const e = s.end;
  if (!e.closed) return `not closed in ${(e.afterMs / 1000).toFixed(0)} s`;
  const logged = e.loggedCode === null ? `by ${e.signal}` : `log ${e.loggedCode}`;
  return `closed: ${logged}, ${e.closeCode === null ? "no close frame" : `frame ${e.closeCode}`}`;
}

/** Whether a scenario meets SLOW_READER_TARGET. */
export function meetsTarget(s: SlowReaderScenario): boolean {
  return (
    s.peakRssBytes - s.idleRssBytes <= SLOW_READER_TARGET.growthBytes &&
    s.other.latencyUs.max < SLOW_READER_TARGET.worstLatencyMs * 1000 &&
    s.other.errors === 0
  );
}

export const SLOW_READER_HEADER = [
  "store".padEnd(6),
  "value".padStart(6),
  "idleMB".padStart(7),
  "peakMB".padStart(7),
  "+MB".padStart(7),
  "hwmMB".padStart(7),
  "ended".padEnd(32),
  "after s".padStart(7),
  "read".padStart(6),
  "p99 ms".padStart(7),
  "max ms".padStart(7),
  "gets".padStart(6),
  "target",
].join(" ");

export function formatScenario(s: SlowReaderScenario): string {
  return [
    s.store.padEnd(6),
    String(s.valueSize).padStart(6),
    mb(s.idleRssBytes).padStart(7),
    mb(s.peakRssBytes).padStart(7),
    mb(s.peakRssBytes - s.idleRssBytes).padStart(7),
    mb(s.hwmBytes).padStart(7),
    endText(s).padEnd(32),
    (s.end.afterMs / 1000).toFixed(2).padStart(7),
    String(s.end.answersRead).padStart(6),
    ms(s.other.latencyUs.p99).padStart(7),
    ms(s.other.latencyUs.max).padStart(7),
    String(s.other.requests).padStart(6),
    meetsTarget(s) ? "met" : "not met",
  ].join(" ");
}

/**
 * Runs every store x value size scenario, each on a fresh node (and for
 * Redis one redis-server, flushed between scenarios), printing a row each.
 */
export async function slowReader(
  settings: SlowReaderSettings,
  log: (line: string) => void = console.log,
): Promise<SlowReaderScenario[]> {
  for (const store of settings.stores)
    if (store !== "memory" && store !== "redis") throw new Error(`unknown store ${store}`);
  for (const size of settings.valueSizes)
    if (!(Number.isInteger(size) && size >= 10 && size <= 60_000))
      throw new Error(`value size ${size} is not an integer in [10, 60000]`);
  if (!(Number.isInteger(settings.requests) && settings.requests >= 1))
    throw new Error("requests must be an integer >= 1");
  if (!(settings.timeoutSeconds > 0)) throw new Error("timeout must be > 0 seconds");
  log(
    `slow reader: ${settings.requests} pipelined KV_GETs never read, values of ${settings.valueSizes.join(", ")} bytes, closed within ${settings.timeoutSeconds} s or not; target peak <= idle + ${mb(SLOW_READER_TARGET.growthBytes)} MB, other client's worst < ${SLOW_READER_TARGET.worstLatencyMs} ms`,
  );
  log(SLOW_READER_HEADER);
  const scenarios: SlowReaderScenario[] = [];
  let redis: RedisServer | undefined;
  try {
    for (const store of settings.stores) {
      if (store === "redis") redis ??= await startRedis();
      for (const valueSize of settings.valueSizes) {
        if (redis) await redisCli(redis.port, "FLUSHALL");
        const node = await spawnServer({
          args: [
            ...settings.nodeArgs,
            ...(store === "redis" && redis ? [`--redis-url=${redis.url}`] : []),
          ],
        });
        try {
          await prefill([node.url], 1, valueSize);
          const scenario = await measure(node, store, valueSize, settings);
          scenarios.push(scenario);
          log(formatScenario(scenario));
          if (scenario.other.errors > 0)
            log(`  ! other client: ${scenario.other.errorSamples.slice(0, 2).join(" | ")}`);
        } finally {
          await node.stop();
        }
      }
    }
  } finally {
    await redis?.stop();
  }
  return scenarios;
}
