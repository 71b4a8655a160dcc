/**
 * The load of the client library: one `kvfleet-client` connection with
 * `inFlight` calls of `db.set` or `db.get` in flight at all times, each
 * awaited and replaced by the next, for a bounded duration after a warm-up.
 * Keys and values are those of the raw load generator (bench/load.ts): keys
 * drawn at random from `key:0` .. `key:<keys - 1>` by the same seeded PRNG,
 * the value `{"v":"xxx..."}` of `valueSize` characters; what the client
 * costs is everything between the call and its settled promise (encoding,
 * ids, matching the answer, decoding the value).
 */
import { connect } from "kvfleet-client";
import { newHistogram, summarise } from "./latency.ts";
import type { LoadResult } from "./load.ts";
import { random, valueText } from "./requests.ts";

export interface ClientLoadOptions {
  url: string;
  /** Calls in flight on the one connection. */
  inFlight: number;
  seconds: number;
  warmup: number;
  op: "set" | "get";
  keys: number;
  valueSize: number;
  seed?: number;
  /** Called when measuring starts, after the warm-up. */
  onMeasure?: () => void;
}

/** Keys drawn per run; the draw cycles through them. */
const DRAWS = 1 << 16;

export async function runClientLoad(options: ClientLoadOptions): Promise<LoadResult> {
  const { inFlight, op } = options;
  const rand = random(options.seed ?? 1);
  const names = Array.from({ length: options.keys }, (_, i) => `key:${i}`);
  const drawn = Array.from({ length: DRAWS }, () => names[Math.floor(rand() * names.length)]);
  const value = JSON.parse(valueText(options.valueSize)) as { v: string };
  const db = await connect(options.url, { maxInFlight: inFlight, reconnect: false });
  const histogram = newHistogram();
  const errorSamples: string[] = [];
  let recording = false;
  let running = true;
  let ops = 0;
  let errors = 0;
  let next = 0;
  const fail = (text: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(text.slice(0, 200));
  };
  const call = async (key: string): Promise<void> => {
    if (op === "set") {
      const outcome = await db.set(key, value);
      if (outcome !== "created" && outcome !== "updated") fail(`set ${key}: ${outcome}`);
    } else {
      const found = await db.get(key);
      if (found === undefined) fail(`get ${key}: not found`);
    }
  };
  const worker = async () => {
    while (running) {
      const key = drawn[next] as string;
      next = next + 1 === DRAWS ? 0 : next + 1;
      const sentAt = performance.now();
      try {
        await call(key);
      } catch (error) {
        fail(String(error));
        continue;
      }
      if (recording) {
        ops++;
        histogram.recordValue(Math.round((performance.now() - sentAt) * 1000) || 1);
      }
    }
  };
  const workers = Array.from({ length: inFlight }, worker);
  if (options.warmup > 0) await Bun.sleep(options.warmup * 1000);
  ops = 0;
  errors = 0;
  errorSamples.length = 0;
  recording = true;
  options.onMeasure?.();
  const started = performance.now();
  await Bun.sleep(options.seconds * 1000);
  const elapsed = (performance.now() - started) / 1000;
  const counted = ops;
  running = false;
  await Promise.all(workers);
  await db.close();
  return {
    ops: counted,
    errors,
    unanswered: 0,
    seconds: Math.round(elapsed * 1000) / 1000,
    opsPerSecond: counted / elapsed,
    keysPerSecond: counted / elapsed,
    latencyUs: summarise(histogram),
    errorSamples,
  };
}
