/**
 * `bun bench/expiry.ts`: the memory store's expiry, in-process.
 *
 * - sweep: fills a MemoryStore with --keys keys of --ttl ms (100 per set
 *   call, flat strings as a parsed request's are), lets them
 *   expire untouched, and measures how long the active sweep takes to reclaim
 *   them, what the event loop felt meanwhile (the gaps of a 1 ms interval
 *   timer, beside the same timer's gaps on an idle loop, and each sweep
 *   step's duration) and RSS before, full, and after (GC'd and settled).
 *   `--no-sweep` runs the same with lazy expiry only, for comparison.
 * - overhead: what an expiry costs per key (the figure behind
 *   EXPIRY_OVERHEAD in src/store/memory-size.ts): heap and RSS growth of a
 *   store of --keys keys that all have a ttl, minus one whose keys have none,
 *   each in a fresh process.
 */
import { parseArgs } from "node:util";
import { EXPIRY_OVERHEAD, MemoryStore } from "../src/store/memory.ts";
import type { Cancel } from "../src/store/sweep.ts";
import { choiceFlag, numberFlag, runMain } from "./cli.ts";
import { mib } from "./format.ts";

const USAGE = `bun bench/expiry.ts [options]

  --mode=M         sweep, overhead or all (default all)
  --keys=N         keys that expire (default 1000000)
  --persistent=N   keys without expiry beside them (default 100000)
  --ttl=MS         their ttl (default 20000; must outlast the fill)
  --value-size=N   value characters, at least 10 (default 100)
  --no-sweep       lazy expiry only (sweep mode)
`;

const OPTIONS = {
  mode: { type: "string", default: "all" },
  keys: { type: "string", default: "1000000" },
  persistent: { type: "string", default: "100000" },
  ttl: { type: "string", default: "20000" },
  "value-size": { type: "string", default: "100" },
  "no-sweep": { type: "boolean", default: false },
  child: { type: "string" },
  help: { type: "boolean", default: false },
} as const;

const SETTLE_MS = 2000;
const PER_MESSAGE = 100;

/** Full GC, a pause for the allocator to hand pages back, GC again. */
async function settle() {
  Bun.gc(true);
  await Bun.sleep(SETTLE_MS);
  Bun.gc(true);
  return process.memoryUsage();
}

/**
 * Stores `count` keys from `first` (`label:<n>`), 100 per set call, yielding
 * between batches. Keys and values come out of JSON.parse, so each is a flat
 * string of its own as a parsed request's are (a template literal would
 * leave ropes), without depending on the server's request parser.
 */
async function fill(
  store: MemoryStore,
  label: string,
  first: number,
  count: number,
  valueSize: number,
  ttl?: number,
) {
  const pad = "x".repeat(valueSize - 10);
  for (let n = first; n < first + count; ) {
    for (let m = 0; m < 100 && n < first + count; m++) {
      const members: string[] = [];
      for (let i = 0; i < PER_MESSAGE && n < first + count; i++, n++) {
        const id = String(n).padStart(8, "0");
        // The value is JSON text: a string of valueSize characters, quotes included.
        members.push(`"${label}:${id}",${JSON.stringify(JSON.stringify(`${id}${pad}`))}`);
      }
      const flat = JSON.parse(`[${members.join(",")}]`) as string[];
      const keys = flat.filter((_, i) => i % 2 === 0);
      const values = flat.filter((_, i) => i % 2 === 1);
      store.set(keys, values, ttl);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Gaps between the ticks of a 1 ms interval: how long the loop was held beyond it. */
function gapMonitor() {
  const gaps: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return gaps;
    },
  };
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;
const stats = (xs: number[]) =>
  `max ${pct(xs, 1).toFixed(2)}, p99.9 ${pct(xs, 0.999).toFixed(2)}, p99 ${pct(xs, 0.99).toFixed(2)} ms (n=${xs.length})`;

async function sweepRun(
  keys: number,
  persistent: number,
  ttl: number,
  valueSize: number,
  sweep: boolean,
) {
  /** Each sweep step's duration, from when `measuring` is set. */
  const steps: number[] = [];
  /** The process's CPU time in each step (GC threads included): far below its wall time means the process was not running. */
  const stepsCpu: number[] = [];
  let measuring = false;
  // The default timer, timed: each step's wall time as the loop saw it.
  const timed = (run: () => void, ms: number): Cancel => {
    const timer = setTimeout(() => {
      const cpu = process.cpuUsage();
      const start = performance.now();
      run();
      if (!measuring) return;
      steps.push(performance.now() - start);
      const used = process.cpuUsage(cpu);
      stepsCpu.push((used.user + used.system) / 1000);
    }, ms);
    timer.unref();
    return () => clearTimeout(timer);
  };
  const store = new MemoryStore({ sweep: { schedule: sweep ? timed : () => () => {} } });
  const before = await settle();
  const idle = gapMonitor();
  await Bun.sleep(2000);
  const idleGaps = idle.stop();
  await fill(store, "plain", 0, persistent, valueSize);
  const filledFrom = performance.now();
  await fill(store, "exp", 0, keys, valueSize, ttl);
  const filled = performance.now();
  if (filled - filledFrom >= ttl)
    throw new Error(`the fill took ${filled - filledFrom} ms, more than --ttl`);
  Bun.gc(true);
  const full = process.memoryUsage();
  const fullBytes = store.usage().bytes;
  // Measure from the first deadline on: from then on the sweep has work.
  await Bun.sleep(Math.max(0, filledFrom + ttl - performance.now()));
  const busy = gapMonitor();
  measuring = true;
  const lastDeadline = filled + ttl;
  const limit = lastDeadline + 60_000;
  while (store.count() > persistent && performance.now() < limit) await Bun.sleep(5);
  const reclaimedAt = performance.now();
  const busyGaps = busy.stop();
  measuring = false;
  const after = await settle();
  console.log(
    `sweep ${sweep ? "on" : "OFF (lazy only)"}: ${keys} keys of ttl ${ttl} ms (+${persistent} without), values of ${valueSize}, filled in ${(filled - filledFrom).toFixed(0)} ms`,
  );
  console.log(
    `  left: ${store.count() - persistent} expired keys; reclaimed ${(reclaimedAt - lastDeadline).toFixed(0)} ms after the last deadline (${(reclaimedAt - filledFrom - ttl).toFixed(0)} after the first)`,
  );
  console.log(
    `  RSS MB: before ${mib(before.rss)}, full ${mib(full.rss)}, after ${mib(after.rss)}; heap MB: before ${mib(before.heapUsed)}, full ${mib(full.heapUsed)}, after ${mib(after.heapUsed)}`,
  );
  console.log(`  estimate MB: full ${mib(fullBytes)}, after ${mib(store.usage().bytes)}`);
  console.log(`  1 ms interval gaps, idle loop:   ${stats(idleGaps)}`);
  console.log(`  1 ms interval gaps, while swept: ${stats(busyGaps)}`);
  if (sweep) {
    console.log(`  sweep steps, wall: ${stats(steps)}`);
    console.log(`  sweep steps, CPU:  ${stats(stepsCpu)}`);
  }
  await store.close();
}

/** One overhead row, in this (fresh) process: growth per key with or without a ttl. */
async function overheadChild(keys: number, valueSize: number, withTtl: boolean) {
  const store = new MemoryStore({ sweep: { schedule: () => () => {} } });
  const before = await settle();
  await fill(store, "key", 0, keys, valueSize, withTtl ? 3_600_000 : undefined);
  const after = await settle();
  console.log(
    JSON.stringify({
      heap: (after.heapUsed - before.heapUsed) / keys,
      rss: (after.rss - before.rss) / keys,
    }),
  );
}

async function overhead(keys: number, valueSize: number) {
  const self = new URL(import.meta.url).pathname;
  const row = (ttl: boolean) => {
    const args = [
      "bun",
      self,
      `--child=${ttl ? "ttl" : "plain"}`,
      `--keys=${keys}`,
      `--value-size=${valueSize}`,
    ];
    const child = Bun.spawnSync(args, { stderr: "inherit" });
    if (child.exitCode !== 0) throw new Error(`${args.join(" ")} failed`);
    return JSON.parse(child.stdout.toString()) as { heap: number; rss: number };
  };
  console.log(
    `expiry overhead: ${keys} keys, values of ${valueSize}; EXPIRY_OVERHEAD = ${EXPIRY_OVERHEAD}`,
  );
  for (let round = 1; round <= 2; round++) {
    const plain = row(false);
    const ttl = row(true);
    console.log(
      `  round ${round}: per key without ttl heap ${plain.heap.toFixed(0)} RSS ${plain.rss.toFixed(0)}; with ttl heap ${ttl.heap.toFixed(0)} RSS ${ttl.rss.toFixed(0)}; the ttl adds heap ${(ttl.heap - plain.heap).toFixed(0)} RSS ${(ttl.rss - plain.rss).toFixed(0)}`,
    );
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: OPTIONS });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const keys = numberFlag("keys", values.keys);
  const valueSize = Math.max(10, numberFlag("value-size", values["value-size"]));
  if (values.child !== undefined) {
    await overheadChild(keys, valueSize, values.child === "ttl");
    return 0;
  }
  const mode = choiceFlag("mode", values.mode, ["sweep", "overhead", "all"]);
  console.log(`Bun ${Bun.version}`);
  if (mode !== "overhead") {
    const persistent = numberFlag("persistent", values.persistent);
    const ttl = numberFlag("ttl", values.ttl);
    await sweepRun(keys, persistent, ttl, valueSize, !values["no-sweep"]);
  }
  if (mode !== "sweep") await overhead(keys, valueSize);
  return 0;
}

if (import.meta.main) await runMain(USAGE, main);
