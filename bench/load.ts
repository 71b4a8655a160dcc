/**
 * The load generator: `connections` WebSockets spread over one or several
 * URLs, each keeping `window` requests in flight, for a bounded duration
 * after a warm-up. Requests are prebuilt strings; per in-flight slot the
 * generator keeps which message was sent and when (typed arrays), so the hot
 * path allocates nothing of its own. Every response's command and status are
 * checked against what the operation allows, and each round trip's latency
 * goes into an HDR histogram in microseconds.
 *
 * Usable on its own against any running server:
 *
 *   bun bench/load.ts --url=ws://127.0.0.1:1987/ --op=mixed --connections=64 --window=32
 */
import * as hdr from "hdr-histogram-js";

export const OPERATIONS = ["set", "get", "add", "rmv", "append", "mixed"] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The share of each command in the `mixed` operation. */
export const MIXED: readonly [Exclude<Operation, "mixed">, number][] = [
  ["get", 0.7],
  ["set", 0.2],
  ["add", 0.04],
  ["rmv", 0.03],
  ["append", 0.03],
];

export interface LoadOptions {
  /** One or several node URLs; connection i goes to urls[i % urls.length]. */
  urls: string[];
  connections: number;
  /** Requests in flight per connection. */
  window: number;
  /** Measured seconds, after the warm-up. */
  seconds: number;
  /** Seconds of load before measuring (nothing recorded). */
  warmup: number;
  op: Operation;
  /** Keys are `key:0` .. `key:<keys - 1>`. */
  keys: number;
  /** Length of each stored value's JSON text, `{"v":"xxx..."}`. */
  valueSize: number;
  /** Report every this many seconds while measuring (soak runs). */
  intervalSeconds?: number;
  onInterval?: (sample: IntervalSample) => void;
  /** Seed of the request order. */
  seed?: number;
  /** Called when measuring starts, after the warm-up. */
  onMeasure?: () => void;
}

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface IntervalSample {
  /** Seconds since measuring started, at the end of the interval. */
  t: number;
  ops: number;
  errors: number;
  opsPerSecond: number;
  latencyUs: Latency;
}

export interface LoadResult {
  ops: number;
  errors: number;
  /** Requests still unanswered when the run gave up waiting (counted in errors too). */
  unanswered: number;
  seconds: number;
  opsPerSecond: number;
  latencyUs: Latency;
  /** The first few unexpected responses, for diagnosis. */
  errorSamples: string[];
}

/** The stored value: a JSON object of exactly `size` characters (at least 10). */
export function valueText(size: number): string {
  return `{"v":"${"x".repeat(Math.max(1, size - 9))}"}`;
}

/** An appended object whose member the stored value already has: the value stays the same size. */
const APPEND_VALUE = '{"v":"y"}';

const OP_CODES: Record<Exclude<Operation, "mixed">, number> = {
  get: 0,
  set: 1,
  add: 2,
  rmv: 3,
  append: 4,
};
const RSP_PREFIX = [
  '{"KV_GET_RSP":',
  '{"KV_SET_RSP":',
  '{"KV_ADD_RSP":',
  '{"KV_RMV_RSP":',
  '{"KV_APPEND_RSP":',
];
const STATUS_SLOTS = 128;

/**
 * Statuses each command may answer in a run. A lone `get` runs on a filled
 * key space, so only 1 (found) passes; in `mixed`, removes make 22 valid.
 */
function allowedStatuses(op: Operation): Uint8Array {
  const allowed = new Uint8Array(5 * STATUS_SLOTS);
  const allow = (code: number, ...sts: number[]) => {
    for (const st of sts) allowed[code * STATUS_SLOTS + st] = 1;
  };
  allow(OP_CODES.get, ...(op === "mixed" ? [1, 22] : [1]));
  allow(OP_CODES.set, 20, 21);
  allow(OP_CODES.add, 20, 23);
  allow(OP_CODES.rmv, 22, 24);
  allow(OP_CODES.append, 1, 22);
  return allowed;
}

/** A small seeded PRNG (mulberry32), so every run sends the same requests. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Requests {
  texts: string[];
  /** The command of each text, as an index into RSP_PREFIX. */
  codes: Uint8Array;
}

/** The prebuilt requests of a run: random keys, and for `mixed` commands drawn by MIXED. */
export function buildRequests(op: Operation, keys: number, valueSize: number, seed = 1): Requests {
  const n = Math.min(Math.max(keys, 4096), 1 << 18);
  const rand = random(seed);
  const value = valueText(valueSize);
  const texts = new Array<string>(n);
  const codes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const key = `"key:${Math.floor(rand() * keys)}"`;
    let command: Exclude<Operation, "mixed"> = op === "mixed" ? "get" : op;
    if (op === "mixed") {
      let r = rand();
      for (const [name, share] of MIXED) {
        command = name;
        r -= share;
        if (r < 0) break;
      }
    }
    codes[i] = OP_CODES[command];
    switch (command) {
      case "get":
        texts[i] = `{"KV_GET":[${key}]}`;
        break;
      case "set":
        texts[i] = `{"KV_SET":{${key}:${value}}}`;
        break;
      case "add":
        texts[i] = `{"KV_ADD":{${key}:${value}}}`;
        break;
      case "rmv":
        texts[i] = `{"KV_RMV":[${key}]}`;
        break;
      case "append":
        texts[i] = `{"KV_APPEND":{${key}:${APPEND_VALUE}}}`;
        break;
    }
  }
  return { texts, codes };
}

const FOUND_END = ',"st":1}}';

/** The status of a single-key response, or -1 when it has none. */
export function responseStatus(text: string): number {
  if (text.endsWith(FOUND_END)) return 1;
  let i = text.indexOf('"st":');
  if (i < 0) return -1;
  i += 5;
  let st = 0;
  let digits = 0;
  for (let d = text.charCodeAt(i) - 48; d >= 0 && d <= 9; d = text.charCodeAt(++i) - 48) {
    st = st * 10 + d;
    digits++;
  }
  return digits === 0 ? -1 : st;
}

export function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    useWebAssembly: false,
  });
}

export function summarise(h: hdr.Histogram): Latency {
  if (h.totalCount === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: Math.round(h.mean * 10) / 10,
  };
}

/** Opens `count` sockets spread over `urls`. */
export async function connect(urls: string[], count: number): Promise<WebSocket[]> {
  return Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<WebSocket>((resolve, reject) => {
          const url = urls[i % urls.length] as string;
          const ws = new WebSocket(url);
          ws.onopen = () => resolve(ws);
          ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
        }),
    ),
  );
}

const MAX_SECONDS = 24 * 3600;
/** How long the end of a run waits for the last answers. */
const DRAIN_MS = 10_000;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { connections, window } = options;
  if (options.urls.length === 0) throw new Error("no URL to load");
  if (!(connections >= 1 && window >= 1)) throw new Error("connections and window must be >= 1");
  if (!(options.seconds > 0 && options.seconds <= MAX_SECONDS))
    throw new Error(`seconds must be in (0, ${MAX_SECONDS}]`);
  if (!(options.warmup >= 0 && options.warmup <= MAX_SECONDS))
    throw new Error("warm-up out of range");

  const { texts, codes } = buildRequests(
    options.op,
    options.keys,
    options.valueSize,
    options.seed ?? 1,
  );
  const count = texts.length;
  const allowed = allowedStatuses(options.op);
  const histogram = newHistogram();
  const interval = options.intervalSeconds ? newHistogram() : null;
  const errorSamples: string[] = [];

  let next = 0;
  let recording = false;
  let running = true;
  let ops = 0;
  let errors = 0;
  let live = connections;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const sockets = await connect(options.urls, connections);
  const inFlightBy = new Int32Array(connections);

  const fail = (text: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(text.slice(0, 200));
  };

  sockets.forEach((ws, c) => {
    const sentAt = new Float64Array(window);
    const message = new Int32Array(window);
    let head = 0;
    let tail = 0;
    let inFlight = 0;
    let open = true;
    const send = () => {
      const m = next;
      next = m + 1 === count ? 0 : m + 1;
      message[tail] = m;
      sentAt[tail] = performance.now();
      tail = tail + 1 === window ? 0 : tail + 1;
      inFlight++;
      ws.send(texts[m] as string);
    };
    const stopped = () => {
      if (!open) return;
      open = false;
      inFlightBy[c] = inFlight;
      if (--live === 0) finish();
    };
    ws.onmessage = (event) => {
      const now = performance.now();
      const text = event.data as string;
      const m = message[head] as number;
      const latency = Math.round((now - (sentAt[head] as number)) * 1000) || 1;
      head = head + 1 === window ? 0 : head + 1;
      inFlight--;
      const code = codes[m] as number;
      const st = responseStatus(text);
      if (
        st < 0 ||
        st >= STATUS_SLOTS ||
        allowed[code * STATUS_SLOTS + st] !== 1 ||
        !text.startsWith(RSP_PREFIX[code] as string)
      ) {
        fail(text);
      }
      if (recording) {
        ops++;
        histogram.recordValue(latency);
        interval?.recordValue(latency);
      }
      if (running) send();
      else if (inFlight === 0) stopped();
    };
    ws.onclose = (event) => {
      if (running || inFlight > 0) fail(`connection closed: ${event.code} ${event.reason}`);
      stopped();
    };
    for (let i = 0; i < window; i++) send();
  });

  if (options.warmup > 0) await Bun.sleep(options.warmup * 1000);
  // Counted from here: what answers during the warm-up is checked, not recorded.
  ops = 0;
  errors = 0;
  errorSamples.length = 0;
  recording = true;
  options.onMeasure?.();
  const started = performance.now();

  let timer: ReturnType<typeof setInterval> | undefined;
  let emit: (() => void) | undefined;
  let lastAt = started;
  if (options.intervalSeconds && interval) {
    let lastOps = 0;
    let lastErrors = 0;
    emit = () => {
      const now = performance.now();
      const sample: IntervalSample = {
        t: Math.round((now - started) / 100) / 10,
        ops: ops - lastOps,
        errors: errors - lastErrors,
        opsPerSecond: ((ops - lastOps) * 1000) / (now - lastAt),
        latencyUs: summarise(interval),
      };
      interval.reset();
      lastOps = ops;
      lastErrors = errors;
      lastAt = now;
      options.onInterval?.(sample);
    };
    timer = setInterval(emit, options.intervalSeconds * 1000);
  }

  await Bun.sleep(options.seconds * 1000);
  if (timer) clearInterval(timer);
  // The last interval, unless the timer just reported it.
  if (emit && performance.now() - lastAt > 100) emit();
  const elapsed = (performance.now() - started) / 1000;
  const counted = ops;
  running = false;
  // Connections with nothing in flight (never the case while running) end here.
  const drained = await Promise.race([
    finished.then(() => true),
    Bun.sleep(DRAIN_MS).then(() => false),
  ]);
  let unanswered = 0;
  if (!drained) {
    for (const ws of sockets) ws.onmessage = null;
    unanswered = inFlightBy.reduce((sum, n) => sum + n, 0);
  }
  for (const ws of sockets) {
    ws.onclose = null;
    ws.close();
  }
  return {
    ops: counted,
    errors: errors + unanswered,
    unanswered,
    seconds: Math.round(elapsed * 1000) / 1000,
    opsPerSecond: counted / elapsed,
    latencyUs: summarise(histogram),
    errorSamples,
  };
}

/**
 * Fills `key:0` .. `key:<keys - 1>` through one or several URLs with
 * KV_SETQ messages of `batch` keys (quiet: no answer on success), each
 * group followed by a KV_COUNT whose answer acknowledges it, so a node's
 * backlog stays small. Throws on any failure answer.
 */
export async function prefill(
  urls: string[],
  keys: number,
  valueSize: number,
  { batch = 100, group = 20, connections = 4 } = {},
): Promise<void> {
  const value = valueText(valueSize);
  const messages: string[] = [];
  for (let from = 0; from < keys; from += batch) {
    const members: string[] = [];
    for (let i = from; i < Math.min(keys, from + batch); i++) members.push(`"key:${i}":${value}`);
    messages.push(`{"KV_SETQ":{${members.join(",")}}}`);
  }
  for (const url of urls) {
    const sockets = await connect([url], connections);
    let nextGroup = 0;
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve, reject) => {
            const sendGroup = () => {
              const from = nextGroup * group;
              nextGroup++;
              if (from >= messages.length) {
                resolve();
                return;
              }
              for (let i = from; i < Math.min(messages.length, from + group); i++)
                ws.send(messages[i] as string);
              ws.send('{"KV_COUNT":{}}');
            };
            ws.onmessage = (event) => {
              const text = event.data as string;
              if (!text.startsWith('{"KV_COUNT_RSP":{"st":1,')) {
                reject(new Error(`prefill of ${url} failed: ${text.slice(0, 200)}`));
                return;
              }
              sendGroup();
            };
            ws.onclose = (event) => reject(new Error(`prefill: ${url} closed ${event.code}`));
            sendGroup();
          }),
      ),
    );
    for (const ws of sockets) {
      ws.onclose = null;
      ws.close();
    }
  }
}

const USAGE = `bun bench/load.ts --url=ws://127.0.0.1:1987/ [options]

  --url=URL            a node to load; repeat (or comma-separate) to spread
                       connections over several nodes
  --connections=N      WebSocket connections (default 64)
  --window=N           requests in flight per connection (default 32)
  --seconds=S          measured duration, at most ${MAX_SECONDS} (default 10)
  --warmup=S           unmeasured load first (default 1)
  --op=OP              ${OPERATIONS.join(", ")} (default mixed:
                       ${MIXED.map(([name, share]) => `${share * 100}% ${name}`).join(", ")})
  --keys=N             key space key:0..key:N-1 (default 10000)
  --value-size=N       bytes of each value's JSON text (default 100)
  --prefill            KV_SETQ the whole key space first (needed for get)
  --interval=S         print throughput every S seconds
  --json               print the result as JSON
`;

export function parseFlags(argv: string[]): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  for (const arg of argv) {
    const match = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unexpected argument ${arg}`);
    const name = match[1] as string;
    flags.set(name, [...(flags.get(name) ?? []), match[2] ?? "true"]);
  }
  return flags;
}

export function numberFlag(flags: Map<string, string[]>, name: string, fallback: number): number {
  const text = flags.get(name)?.at(-1);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0`);
  return n;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.has("help") || !flags.has("url")) {
    console.log(USAGE);
    process.exit(flags.has("help") ? 0 : 2);
  }
  const op = (flags.get("op")?.at(-1) ?? "mixed") as Operation;
  if (!OPERATIONS.includes(op)) throw new Error(`--op must be one of ${OPERATIONS.join(", ")}`);
  const urls = (flags.get("url") ?? []).flatMap((u) => u.split(","));
  const keys = numberFlag(flags, "keys", 10_000);
  const valueSize = numberFlag(flags, "value-size", 100);
  if (flags.has("prefill")) await prefill(urls, keys, valueSize);
  const json = flags.has("json");
  const result = await runLoad({
    urls,
    connections: numberFlag(flags, "connections", 64),
    window: numberFlag(flags, "window", 32),
    seconds: numberFlag(flags, "seconds", 10),
    warmup: numberFlag(flags, "warmup", 1),
    op,
    keys,
    valueSize,
    intervalSeconds: numberFlag(flags, "interval", 0),
    onInterval: (s) => {
      if (!json)
        console.log(
          `${s.t.toFixed(1).padStart(7)} s ${Math.round(s.opsPerSecond).toString().padStart(9)} ops/s p99 ${s.latencyUs.p99} µs errors ${s.errors}`,
        );
    },
  });
  if (json) {
    console.log(JSON.stringify(result));
  } else {
    const l = result.latencyUs;
    console.log(
      `${op}: ${Math.round(result.opsPerSecond)} ops/s over ${result.seconds} s, ${result.ops} answers, ${result.errors} errors; latency µs p50 ${l.p50} p90 ${l.p90} p99 ${l.p99} p99.9 ${l.p999} max ${l.max}`,
    );
    for (const sample of result.errorSamples) console.log(`  unexpected: ${sample}`);
  }
  process.exit(result.errors > 0 ? 1 : 0);
}

if (import.meta.main) await main();
