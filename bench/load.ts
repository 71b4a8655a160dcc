/**
 * The load generator: `connections` WebSockets spread over one or several
 * URLs, each keeping `window` requests in flight, for a bounded duration
 * after a warm-up, in protocol version 1 or 2. Requests are prebuilt
 * strings; per in-flight slot the generator keeps which message was sent and
 * when (typed arrays), so the hot path allocates nothing of its own. Slot s
 * sends only the requests whose index is s modulo the window, which in
 * version 2 carry the id s: an answer is matched to its slot by a prefix.
 * Every response's command and statuses are checked against what the
 * operation allows, and each request's latency (to its last frame, for a
 * version 1 request of several keys) goes into an HDR histogram in
 * microseconds. One op is one request, whatever its keys and frames.
 *
 * Usable on its own against any running server:
 *
 *   bun bench/load.ts --url=ws://127.0.0.1:1987/ --op=mixed --connections=64 --window=32
 */
import { parseArgs } from "node:util";
import { choiceFlag, items, numberFlag, runMain } from "./cli.ts";
import { connect, prefill } from "./client.ts";
import { type Latency, newHistogram, summarise } from "./latency.ts";
import {
  buildRequests,
  MIXED,
  OPERATIONS,
  type Operation,
  PROTOCOLS,
  type Protocol,
  responseCheck,
} from "./requests.ts";

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
  /** Protocol version: 2 offers `kvfleet.v2` and fails unless selected (default 1). */
  protocol?: Protocol;
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
  /** Called when measuring ends, before the last answers are awaited. */
  onMeasured?: () => void;
  /** Turns the load on and off while it runs (interleaved comparisons); on throughout without one. */
  gate?: LoadGate;
}

/**
 * A switch over a running load: while shut, answers still arrive and are
 * checked and counted, but no request is sent in their place; opening it
 * fills every connection's window again.
 */
export class LoadGate {
  #open: boolean;
  readonly #fills = new Set<() => void>();

  constructor(open: boolean) {
    this.#open = open;
  }

  get open(): boolean {
    return this.#open;
  }

  set(open: boolean): void {
    if (open === this.#open) return;
    this.#open = open;
    if (open) for (const fill of this.#fills) fill();
  }

  /** A connection's refill, called on every opening; the returned function forgets it. */
  onOpen(fill: () => void): () => void {
    this.#fills.add(fill);
    return () => this.#fills.delete(fill);
  }
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
  /** Requests answered while measuring. */
  ops: number;
  errors: number;
  /** Requests still unanswered when the run gave up waiting (counted in errors too). */
  unanswered: number;
  seconds: number;
  opsPerSecond: number;
  /** Keys read or written per second: opsPerSecond times the keys of each request. */
  keysPerSecond: number;
  latencyUs: Latency;
  /** The first few unexpected responses, for diagnosis. */
  errorSamples: string[];
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

  const protocol = options.protocol ?? 1;
  const { texts, codes, keysPerRequest } = buildRequests(
    options.op,
    options.keys,
    options.valueSize,
    { seed: options.seed ?? 1, protocol, window },
  );
  const count = texts.length;
  /** Requests per slot of a connection: slot s sends s, s + window, s + 2 * window, ... */
  const rows = count / window;
  /** Version 1 answers a request of k keys with k frames, version 2 with one. */
  const framesPerRequest = protocol === 1 ? keysPerRequest : 1;
  const accepts = responseCheck(options.op, protocol, window);
  const histogram = newHistogram();
  const interval = options.intervalSeconds ? newHistogram() : null;
  const errorSamples: string[] = [];

  let recording = false;
  let running = true;
  let ops = 0;
  let errors = 0;
  let live = connections;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const sockets = await connect(options.urls, connections, protocol);
  const gate = options.gate ?? { open: true };
  const idle: (() => void)[] = [];
  const inFlightBy = new Int32Array(connections);

  const fail = (text: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(text.slice(0, 200));
  };

  sockets.forEach((ws, c) => {
    const sentAt = new Float64Array(window);
    const message = new Int32Array(window);
    // Each connection starts its slots at its own place in the requests.
    const nextOf = new Int32Array(window);
    const start = Math.floor((c * rows) / connections) * window;
    for (let s = 0; s < window; s++) nextOf[s] = start + s;
    let head = 0;
    let tail = 0;
    let inFlight = 0;
    /** Frames still due for the request at `head`. */
    let due = framesPerRequest;
    let open = true;
    const send = () => {
      const m = nextOf[tail] as number;
      nextOf[tail] = m + window >= count ? m + window - count : m + window;
      message[tail] = m;
      sentAt[tail] = performance.now();
      tail = tail + 1 === window ? 0 : tail + 1;
      inFlight++;
      ws.send(texts[m] as string);
    };
    // Opening the gate fills the window again; a stopped connection is forgotten.
    const forget = options.gate?.onOpen(() => {
      while (running && inFlight < window) send();
    });
    const stopped = () => {
      if (!open) return;
      forget?.();
      open = false;
      inFlightBy[c] = inFlight;
      if (--live === 0) finish();
    };
    ws.onmessage = (event) => {
      const now = performance.now();
      const text = event.data as string;
      const m = message[head] as number;
      if (!accepts(codes[m] as number, head, text)) {
        fail(text);
        // A message-level error is the only frame of its request.
        if (text.startsWith('{"KV_ERR"')) due = 1;
      }
      if (--due > 0) return;
      due = framesPerRequest;
      const latency = Math.round((now - (sentAt[head] as number)) * 1000) || 1;
      head = head + 1 === window ? 0 : head + 1;
      inFlight--;
      if (recording) {
        ops++;
        histogram.recordValue(latency);
        interval?.recordValue(latency);
      }
      if (running && gate.open) send();
      else if (!running && inFlight === 0) stopped();
    };
    // A connection whose gate is shut when the run ends has nothing in flight to wait for.
    idle.push(() => {
      if (inFlight === 0) stopped();
    });
    ws.onclose = (event) => {
      if (running || inFlight > 0) fail(`connection closed: ${event.code} ${event.reason}`);
      stopped();
    };
    if (gate.open) for (let i = 0; i < window; i++) send();
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
  options.onMeasured?.();
  for (const check of idle) check();
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
    keysPerSecond: (counted * keysPerRequest) / elapsed,
    latencyUs: summarise(histogram),
    errorSamples,
  };
}

const USAGE = `bun bench/load.ts --url=ws://127.0.0.1:1987/ [options]

  --url=URL            a node to load; repeat (or comma-separate) to spread
                       connections over several nodes
  --connections=N      WebSocket connections (default 64)
  --window=N           requests in flight per connection (default 32)
  --seconds=S          measured duration, at most ${MAX_SECONDS} (default 10)
  --warmup=S           unmeasured load first (default 1)
  --op=OP              ${OPERATIONS.join(", ")} (default mixed:
                       ${MIXED.map(([name, share]) => `${share * 100}% ${name}`).join(", ")};
                       get10 reads 10 keys per KV_GET)
  --protocol=V         1, or 2 (offers kvfleet.v2, requests with ids; default 1)
  --keys=N             key space key:0..key:N-1 (default 10000)
  --value-size=N       bytes of each value's JSON text (default 100)
  --prefill            KV_SETQ the whole key space first (needed for get)
  --interval=S         print throughput every S seconds
  --json               print the result as JSON
`;

const OPTIONS = {
  url: { type: "string", multiple: true },
  connections: { type: "string", default: "64" },
  window: { type: "string", default: "32" },
  seconds: { type: "string", default: "10" },
  warmup: { type: "string", default: "1" },
  op: { type: "string", default: "mixed" },
  protocol: { type: "string", default: "1" },
  keys: { type: "string", default: "10000" },
  "value-size": { type: "string", default: "100" },
  prefill: { type: "boolean", default: false },
  interval: { type: "string", default: "0" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const;
type NumberFlag =
  | "connections"
  | "window"
  | "seconds"
  | "warmup"
  | "keys"
  | "value-size"
  | "interval";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: OPTIONS });
  const urls = (values.url ?? []).flatMap(items);
  if (values.help || urls.length === 0) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const op = choiceFlag("op", values.op, OPERATIONS);
  const protocol = Number(choiceFlag("protocol", values.protocol, PROTOCOLS)) as Protocol;
  const number = (name: NumberFlag) => numberFlag(name, values[name]);
  const keys = number("keys");
  const valueSize = number("value-size");
  if (values.prefill) await prefill(urls, keys, valueSize);
  const result = await runLoad({
    urls,
    connections: number("connections"),
    window: number("window"),
    seconds: number("seconds"),
    warmup: number("warmup"),
    op,
    protocol,
    keys,
    valueSize,
    intervalSeconds: number("interval"),
    onInterval: (s) => {
      if (!values.json)
        console.log(
          `${s.t.toFixed(1).padStart(7)} s ${Math.round(s.opsPerSecond).toString().padStart(9)} ops/s p99 ${s.latencyUs.p99} µs errors ${s.errors}`,
        );
    },
  });
  if (values.json) {
    console.log(JSON.stringify(result));
  } else {
    const l = result.latencyUs;
    console.log(
      `${op} (protocol ${protocol}): ${Math.round(result.opsPerSecond)} ops/s (${Math.round(result.keysPerSecond)} keys/s) over ${result.seconds} s, ${result.ops} answers, ${result.errors} errors; latency µs p50 ${l.p50} p90 ${l.p90} p99 ${l.p99} p99.9 ${l.p999} max ${l.max}`,
    );
    for (const sample of result.errorSamples) console.log(`  unexpected: ${sample}`);
  }
  return result.errors > 0 ? 1 : 0;
}

if (import.meta.main) await runMain(USAGE, main);
