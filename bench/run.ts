/**
 * `bun run bench`: the default matrix, the memory figure, the soak run and
 * the profile, each starting and stopping its own redis-server and nodes on
 * loopback. Results go to bench/results/; `bun run bench:report` turns the
 * latest of each kind into docs/benchmarks.md. See USAGE.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { APPEND_LUA, SET_AND_REPORT_LUA } from "../src/store/redis-scripts.ts";
import { type RedisServer, redisCli, startRedis } from "../test/support/redis.ts";
import { spawnServer } from "../test/support/server.ts";
import {
  connect,
  type IntervalSample,
  type Latency,
  type LoadResult,
  MIXED,
  numberFlag,
  type Operation,
  parseFlags,
  prefill,
  runLoad,
  valueText,
} from "./load.ts";
import {
  cpuSeconds,
  type Listening,
  type RedisBenchmark,
  redisBenchmark,
  redisInfo,
  rssBytes,
  startTransport,
} from "./process.ts";
import { SLOW_READER_DEFAULTS, type SlowReaderStore, slowReader } from "./slow-reader.ts";

const ROOT = new URL("..", import.meta.url).pathname;
export const RESULTS_DIR = join(ROOT, "bench/results");

const USAGE = `bun run bench [-- options]

The default matrix (under five minutes): the transport ceiling, kvfleet on
the memory store and on Redis, with 1 and 2 nodes, for set, get and mixed at
1x1, 64x1 and 64x32 (connections x window), and redis-benchmark issuing the
Redis commands kvfleet issues at the same concurrency. Prints a table and
writes bench/results/<timestamp>.json.

  --seconds=S        measured seconds per scenario (default 3, env BENCH_SECONDS)
  --warmup=S         warm-up seconds per scenario (default 1, env BENCH_WARMUP)
  --keys=N           key space (default 10000)
  --value-size=N     bytes of each value's JSON text (default 100)
  --only=LIST        targets to run, comma-separated: transport, memory,
                     redis, redis-benchmark (default all)
  --ops=LIST         operations (default set,get,mixed)
  --shapes=LIST      shapes CxW (default 1x1,64x1,64x32)

Other modes, each writing bench/results/<timestamp>-<mode>.json:

  --soak S           mixed load for S seconds on one node (default store
                     redis, --store=memory for the other), throughput per
                     10-second window and the node's RSS (VmRSS) over time
  --memory           RSS of a memory node holding --memory-keys (default
                     1000000) keys of 100-byte values, and Redis used_memory
                     for the same keys loaded through a node
  --profile          runs a node under bun --cpu-prof for each store at
                     64x32 (set, get; --seconds each) and prints the
                     functions with the most self time
  --slow-reader      per store and value size, a client pipelines
                     --requests (default 50000) KV_GETs and never reads;
                     the node's peak RSS, how and when it closes that
                     client (--timeout S, default 30), and another
                     client's 1x1 latency meanwhile; --value-sizes=LIST
                     (default 1024,8192), --stores=LIST (memory,redis)
  --help             this text

Then \`bun run bench:report\` writes docs/benchmarks.md and its SVG charts.
`;

export interface Row {
  /** transport, memory, redis, redis-benchmark */
  target: string;
  nodes: number;
  op: Operation;
  connections: number;
  window: number;
  opsPerSecond: number;
  errors: number;
  latencyUs: Latency;
  /** For redis-benchmark rows: the commands whose figures it combines. */
  detail?: RedisBenchmark[];
  /**
   * CPU while measuring, in cores (CPU seconds per second) and in µs per
   * request: of the node processes (summed), of redis-server, and of the
   * load generator.
   */
  cpu?: {
    nodeCores: number;
    redisCores?: number;
    generatorCores: number;
    nodeUsPerOp: number;
    redisUsPerOp?: number;
    generatorUsPerOp: number;
  };
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  bun: string;
  redis: string;
  kernel: string;
  loadavgBefore: number[];
  loadavgAfter?: number[];
}

export function machineInfo(): MachineInfo {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const redis = Bun.spawnSync(["redis-server", "--version"]).stdout.toString();
  return {
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    bun: Bun.version,
    redis: /v=(\S+)/.exec(redis)?.[1] ?? "unknown",
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    loadavgBefore: loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

function stamp(): string {
  return new Date().toISOString().replace(/\..*$/, "Z").replaceAll(":", "-");
}

function save(kind: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, kind === "matrix" ? `${stamp()}.json` : `${stamp()}-${kind}.json`);
  writeFileSync(path, `${JSON.stringify(data, null, 1)}\n`);
  return path;
}

/** The newest results file of a kind, parsed. */
export function latest<T>(kind: string): { path: string; data: T } | undefined {
  let files: string[];
  try {
    files = readdirSync(RESULTS_DIR).filter((f) => f.endsWith(".json"));
  } catch {
    return undefined;
  }
  const match = files
    .filter((f) =>
      kind === "matrix" ? /^\d{4}-[\d-]+T[\d-]+Z\.json$/.test(f) : f.endsWith(`-${kind}.json`),
    )
    .sort();
  const file = match.at(-1);
  if (!file) return undefined;
  const path = join(RESULTS_DIR, file);
  return { path, data: JSON.parse(readFileSync(path, "utf8")) as T };
}

interface Shape {
  connections: number;
  window: number;
}

const shapeName = (s: Shape) => `${s.connections}x${s.window}`;

function parseShape(text: string): Shape {
  const match = /^(\d+)x(\d+)$/.exec(text);
  if (!match) throw new Error(`shape ${text} is not CxW`);
  return { connections: Number(match[1]), window: Number(match[2]) };
}

/** `--flag value` is read as `--flag=value`. */
function normaliseArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = argv[i + 1];
    if (/^--[a-z-]+$/.test(arg) && value !== undefined && !value.startsWith("--")) {
      out.push(`${arg}=${value}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

const flags = parseFlags(normaliseArgs(process.argv.slice(2).filter((a) => a !== "--")));
const listFlag = (name: string, fallback: string[]) =>
  flags.get(name)?.at(-1)?.split(",").filter(Boolean) ?? fallback;
const seconds = numberFlag(flags, "seconds", Number(process.env.BENCH_SECONDS ?? 3));
const warmup = numberFlag(flags, "warmup", Number(process.env.BENCH_WARMUP ?? 1));
const keys = numberFlag(flags, "keys", 10_000);
const valueSize = numberFlag(flags, "value-size", 100);
const NODE_ARGS = ["--max-payload=65536"];

function log(line: string): void {
  console.log(line);
}

function formatRow(row: Row, ratios: string[] = []): string {
  const l = row.latencyUs;
  return [
    row.target.padEnd(15),
    String(row.nodes).padStart(2),
    `${row.connections}x${row.window}`.padStart(6),
    row.op.padEnd(6),
    Math.round(row.opsPerSecond).toString().padStart(9),
    String(l.p50).padStart(7),
    String(l.p99).padStart(7),
    String(l.p999).padStart(7),
    String(row.errors).padStart(6),
    String(row.cpu?.nodeUsPerOp ?? "").padStart(6),
    String(row.cpu?.redisUsPerOp ?? "").padStart(6),
    String(row.cpu?.generatorCores ?? "").padStart(5),
    ...ratios,
  ].join(" ");
}

const HEADER = [
  "target".padEnd(15),
  "n".padStart(2),
  "shape".padStart(6),
  "op".padEnd(6),
  "ops/s".padStart(9),
  "p50µs".padStart(7),
  "p99µs".padStart(7),
  "p999µs".padStart(7),
  "errors".padStart(6),
  "nodeµs".padStart(6),
  "redµs".padStart(6),
  "gen".padStart(5),
].join(" ");

/** Measures the CPU of some processes and of this one between start() and stop(). */
function cpuMeter(nodePids: number[], redisPid: number | undefined) {
  let nodes0 = 0;
  let redis0 = 0;
  let self0 = 0;
  let t0 = 0;
  const selfCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const nodeCpu = () => nodePids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  return {
    start() {
      nodes0 = nodeCpu();
      redis0 = redisPid ? cpuSeconds(redisPid) : 0;
      self0 = selfCpu();
      t0 = performance.now();
    },
    stop(ops: number): Row["cpu"] {
      const seconds = (performance.now() - t0) / 1000;
      const node = nodeCpu() - nodes0;
      const redis = redisPid ? cpuSeconds(redisPid) - redis0 : undefined;
      const self = selfCpu() - self0;
      const round = (n: number) => Math.round(n * 100) / 100;
      const perOp = (n: number) => Math.round((n / Math.max(1, ops)) * 1e7) / 10;
      return {
        nodeCores: round(node / seconds),
        generatorCores: round(self / seconds),
        nodeUsPerOp: perOp(node),
        generatorUsPerOp: perOp(self),
        ...(redis === undefined
          ? {}
          : { redisCores: round(redis / seconds), redisUsPerOp: perOp(redis) }),
      };
    },
  };
}

function toRow(
  target: string,
  nodes: number,
  op: Operation,
  shape: Shape,
  result: LoadResult,
): Row {
  if (result.errors > 0)
    log(`  ! ${result.errors} errors: ${result.errorSamples.slice(0, 2).join(" | ")}`);
  return {
    target,
    nodes,
    op,
    connections: shape.connections,
    window: shape.window,
    opsPerSecond: Math.round(result.opsPerSecond),
    errors: result.errors,
    latencyUs: result.latencyUs,
  };
}

/** Runs every op and shape against `urls`; 1x1 is skipped for two nodes (one connection reaches one node). */
/** One scenario against one target's nodes: a row of the matrix. */
async function loadOne(
  target: string,
  nodes: { url: string; pid: number }[],
  redisPid: number | undefined,
  op: Operation,
  shape: Shape,
  rows: Row[],
): Promise<void> {
  const urls = nodes.map((n) => n.url);
  const meter = cpuMeter(
    nodes.map((n) => n.pid),
    redisPid,
  );
  const result = await runLoad({
    onMeasure: meter.start,
    urls,
    connections: shape.connections,
    window: shape.window,
    seconds,
    warmup,
    op,
    keys,
    valueSize,
  });
  const cpu = meter.stop(result.ops);
  const row = { ...toRow(target, urls.length, op, shape, result), cpu };
  rows.push(row);
  log(formatRow(row));
}

/** Starts `count` nodes; if one fails to start, stops those already running. */
async function startNodes(count: number, start: () => Promise<Listening>): Promise<Listening[]> {
  const nodes: Listening[] = [];
  try {
    for (let i = 0; i < count; i++) nodes.push(await start());
    return nodes;
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw error;
  }
}

/** The Redis commands kvfleet issues for each operation, as redis-benchmark arguments. */
function redisCommands(setSha: string, appendSha: string) {
  const value = valueText(valueSize);
  return {
    get: ["GET", "key:__rand_int__"],
    set: ["EVALSHA", setSha, "1", "key:__rand_int__", value],
    add: ["SET", "key:__rand_int__", value, "NX"],
    rmv: ["DEL", "key:__rand_int__"],
    append: ["EVALSHA", appendSha, "1", "key:__rand_int__", '{"v":"y"}'],
  } as const;
}

/** Requests per redis-benchmark run: about `seconds` at a rough rate for the shape. */
function requestsFor(shape: Shape): number {
  const inFlight = shape.connections * shape.window;
  const rate = inFlight <= 1 ? 20_000 : inFlight <= 64 ? 120_000 : 500_000;
  return Math.max(10_000, Math.round(rate * seconds));
}

async function redisCeilings(
  redis: RedisServer,
  ops: Operation[],
  shapes: Shape[],
  rows: Row[],
): Promise<void> {
  await redisCli(redis.port, "FLUSHALL");
  const setSha = (await redisCli(redis.port, "SCRIPT", "LOAD", SET_AND_REPORT_LUA)).trim();
  const appendSha = (await redisCli(redis.port, "SCRIPT", "LOAD", APPEND_LUA)).trim();
  const commands = redisCommands(setSha, appendSha);
  const fill = () =>
    redisBenchmark(redis.port, 64, 32, keys * 8, keys, [
      "SET",
      "key:__rand_int__",
      valueText(valueSize),
    ]);
  for (const shape of shapes) {
    const n = requestsFor(shape);
    const run = async (name: keyof typeof commands) => {
      if (name === "get" || name === "append") await fill();
      const before = cpuSeconds(redis.pid);
      const result = await redisBenchmark(
        redis.port,
        shape.connections,
        shape.window,
        n,
        keys,
        commands[name] as unknown as string[],
      );
      result.redisUsPerOp = Math.round(((cpuSeconds(redis.pid) - before) / n) * 1e7) / 10;
      return result;
    };
    const results = new Map<string, RedisBenchmark>();
    const needed = new Set<keyof typeof commands>();
    for (const op of ops) {
      if (op === "mixed") for (const [name] of MIXED) needed.add(name);
      else needed.add(op);
    }
    for (const name of ["get", "set", "add", "append", "rmv"] as const) {
      if (needed.has(name)) results.set(name, await run(name));
    }
    for (const op of ops) {
      const parts: [RedisBenchmark, number][] =
        op === "mixed"
          ? MIXED.map(([name, share]) => [results.get(name) as RedisBenchmark, share])
          : [[results.get(op) as RedisBenchmark, 1]];
      // A mix runs each command for its share of the time its rate allows.
      const rps = 1 / parts.reduce((sum, [r, share]) => sum + share / r.rps, 0);
      const weighted = (f: (r: RedisBenchmark) => number) =>
        Math.round(parts.reduce((sum, [r, share]) => sum + share * f(r), 0) * 1000);
      const row: Row = {
        target: "redis-benchmark",
        nodes: 1,
        op,
        connections: shape.connections,
        window: shape.window,
        opsPerSecond: Math.round(rps),
        errors: 0,
        latencyUs: {
          p50: weighted((r) => r.p50ms),
          p90: 0,
          p99: weighted((r) => r.p99ms),
          p999: 0,
          max: 0,
          mean: 0,
        },
        detail: parts.map(([r]) => r),
      };
      const redisUs = parts.reduce((sum, [r, share]) => sum + share * (r.redisUsPerOp ?? 0), 0);
      row.cpu = {
        nodeCores: 0,
        generatorCores: 0,
        nodeUsPerOp: 0,
        generatorUsPerOp: 0,
        redisUsPerOp: Math.round(redisUs * 10) / 10,
        redisCores: Math.round(((redisUs * rps) / 1e6) * 100) / 100,
      };
      rows.push(row);
      log(formatRow(row));
    }
  }
}

async function matrix(): Promise<void> {
  const only = listFlag("only", ["transport", "memory", "redis", "redis-benchmark"]);
  const ops = listFlag("ops", ["set", "get", "mixed"]) as Operation[];
  const shapes = listFlag("shapes", ["1x1", "64x1", "64x32"]).map(parseShape);
  const machine = machineInfo();
  const started = new Date();
  log(
    `kvfleet bench: ${seconds} s per scenario after ${warmup} s warm-up, ${keys} keys, ${valueSize}-byte values; load average ${machine.loadavgBefore.join(" ")}`,
  );
  log(HEADER);
  const rows: Row[] = [];
  const redis = await startRedis();
  try {
    for (const count of [1, 2]) {
      // Every target's nodes run at once and each scenario loads them one
      // after the other, so the ratios compare figures taken seconds apart:
      // on a shared machine the speed drifts over minutes.
      const targets: { name: string; nodes: Listening[]; redisPid?: number }[] = [];
      try {
        if (only.includes("transport")) {
          targets.push({
            name: "transport",
            nodes: await startNodes(count, () => startTransport(valueSize)),
          });
        }
        if (only.includes("memory")) {
          const nodes = await startNodes(count, () => spawnServer({ args: NODE_ARGS }));
          targets.push({ name: "memory", nodes });
          await prefill(
            nodes.map((n) => n.url),
            keys,
            valueSize,
          );
        }
        if (only.includes("redis")) {
          await redisCli(redis.port, "FLUSHALL");
          const args = [...NODE_ARGS, `--redis-url=${redis.url}`];
          const nodes = await startNodes(count, () => spawnServer({ args }));
          targets.push({ name: "redis", nodes, redisPid: redis.pid });
          await prefill([(nodes[0] as Listening).url], keys, valueSize);
        }
        for (const shape of shapes) {
          if (count > 1 && shape.connections < count) continue;
          for (const op of ops) {
            for (const t of targets) await loadOne(t.name, t.nodes, t.redisPid, op, shape, rows);
          }
        }
      } finally {
        await Promise.all(targets.flatMap((t) => t.nodes.map((n) => n.stop())));
      }
    }
    if (only.includes("redis-benchmark")) await redisCeilings(redis, ops, shapes, rows);
  } finally {
    await redis.stop();
  }
  machine.loadavgAfter = loadavg().map((n) => Math.round(n * 100) / 100);
  const finished = new Date();
  const results = {
    kind: "matrix",
    started: started.toISOString(),
    finished: finished.toISOString(),
    machine,
    settings: { seconds, warmup, keys, valueSize, mixed: MIXED },
    rows,
  };
  const path = save("matrix", results);
  log("");
  printRatios(rows);
  log(
    `\n${rows.length} scenarios in ${Math.round((finished.getTime() - started.getTime()) / 1000)} s; load average after ${machine.loadavgAfter.join(" ")}; wrote ${path}`,
  );
}

const key = (r: Pick<Row, "op" | "connections" | "window">) =>
  `${r.op} ${r.connections}x${r.window}`;

/** The transport ceiling of a row: same op and shape, same node count. */
export function transportOf(rows: Row[], row: Row): Row | undefined {
  return rows.find((r) => r.target === "transport" && r.nodes === row.nodes && key(r) === key(row));
}

export function redisOf(rows: Row[], row: Row): Row | undefined {
  return rows.find((r) => r.target === "redis-benchmark" && key(r) === key(row));
}

const ratio = (a: number, b: Row | undefined) =>
  b && b.opsPerSecond > 0 ? (a / b.opsPerSecond).toFixed(2) : "-";

function printRatios(rows: Row[]): void {
  log(`${HEADER} ${"/transport".padStart(10)} ${"/redis-bm".padStart(9)}`);
  for (const row of rows) {
    const t = row.target === "transport" ? "1.00" : ratio(row.opsPerSecond, transportOf(rows, row));
    const r = row.target === "redis" ? ratio(row.opsPerSecond, redisOf(rows, row)) : "";
    log(formatRow(row, [t.padStart(10), r.padStart(9)]));
  }
}

/** Soak: mixed load on one node for `total` seconds, throughput and RSS per window. */
async function soak(total: number): Promise<void> {
  const store = flags.get("store")?.at(-1) ?? "redis";
  const shape = parseShape(flags.get("shapes")?.at(-1) ?? "64x32");
  const windowSeconds = numberFlag(flags, "interval", 10);
  const machine = machineInfo();
  const started = new Date();
  const redis = await startRedis();
  const windows: (IntervalSample & { rssBytes: number; redisUsedMemory?: number })[] = [];
  const rss: { t: number; rssBytes: number }[] = [];
  let result: LoadResult;
  try {
    const node = await spawnServer({
      args: [...NODE_ARGS, ...(store === "redis" ? [`--redis-url=${redis.url}`] : [])],
    });
    try {
      await prefill([node.url], keys, valueSize);
      const baseline = rssBytes(node.pid);
      rss.push({ t: -warmup, rssBytes: baseline });
      log(`soak: ${store} store, ${shapeName(shape)} mixed for ${total} s, RSS ${mb(baseline)} MB`);
      const t0 = performance.now() + warmup * 1000;
      const sampler = setInterval(() => {
        rss.push({ t: Math.round(performance.now() - t0) / 1000, rssBytes: rssBytes(node.pid) });
      }, 1000);
      try {
        result = await runLoad({
          urls: [node.url],
          ...shape,
          seconds: total,
          warmup,
          op: "mixed",
          keys,
          valueSize,
          intervalSeconds: windowSeconds,
          onInterval: (sample) => {
            const now = rssBytes(node.pid);
            void (store === "redis" ? redisInfo(redis.port, "used_memory") : Promise.resolve(0))
              .then((used) => {
                windows.push({ ...sample, rssBytes: now, redisUsedMemory: used || undefined });
              })
              .catch(() => windows.push({ ...sample, rssBytes: now }));
            log(
              `${sample.t.toFixed(0).padStart(5)} s ${Math.round(sample.opsPerSecond).toString().padStart(8)} ops/s p99 ${sample.latencyUs.p99} µs errors ${sample.errors} RSS ${mb(now)} MB`,
            );
          },
        });
      } finally {
        clearInterval(sampler);
      }
    } finally {
      await node.stop();
    }
  } finally {
    await redis.stop();
  }
  machine.loadavgAfter = loadavg().map((n) => Math.round(n * 100) / 100);
  windows.sort((a, b) => a.t - b.t);
  const path = save("soak", {
    kind: "soak",
    started: started.toISOString(),
    finished: new Date().toISOString(),
    machine,
    settings: { seconds: total, warmup, keys, valueSize, store, ...shape, windowSeconds },
    total: { ...result, errorSamples: result.errorSamples },
    windows,
    rss,
  });
  log(
    `soak: ${Math.round(result.opsPerSecond)} ops/s overall, ${result.errors} errors; wrote ${path}`,
  );
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** Sends KV_COUNT on a fresh connection and answers cnt. */
async function countKeys(url: string): Promise<number> {
  const [ws] = await connect([url], 1);
  const socket = ws as WebSocket;
  const text = await new Promise<string>((resolve) => {
    socket.onmessage = (event) => resolve(event.data as string);
    socket.send('{"KV_COUNT":{}}');
  });
  socket.close();
  return Number(/"cnt":(\d+)/.exec(text)?.[1] ?? -1);
}

/** RSS of a memory node and Redis used_memory, per key, for `count` keys. */
async function memory(): Promise<void> {
  const count = numberFlag(flags, "memory-keys", 1_000_000);
  const size = numberFlag(flags, "value-size", 100);
  const args = ["--max-payload=2097152"];
  const machine = machineInfo();
  let keyBytes = 0;
  for (let i = 0; i < count; i++) keyBytes += `key:${i}`.length;
  const raw = keyBytes + count * size;
  const settle = async (pid: number) => {
    await Bun.sleep(3000);
    return rssBytes(pid);
  };
  log(`memory: ${count} keys of ${size}-byte values, raw ${mb(raw)} MB (keys ${mb(keyBytes)} MB)`);

  const node = await spawnServer({ args });
  let memoryResult: Record<string, number>;
  try {
    const before = await settle(node.pid);
    const t = performance.now();
    await prefill([node.url], count, size, { batch: 100, group: 20, connections: 4 });
    const loadSeconds = (performance.now() - t) / 1000;
    const stored = await countKeys(node.url);
    const after = await settle(node.pid);
    memoryResult = {
      keys: stored,
      rssBefore: before,
      rssAfter: after,
      bytesPerKey: (after - before) / stored,
      loadSeconds,
    };
    log(
      `memory store: RSS ${mb(before)} -> ${mb(after)} MB, ${memoryResult.bytesPerKey?.toFixed(0)} bytes per key (raw ${(raw / count).toFixed(0)}), loaded in ${loadSeconds.toFixed(1)} s`,
    );
  } finally {
    await node.stop();
  }

  const redis = await startRedis();
  let redisResult: Record<string, number>;
  try {
    const rnode = await spawnServer({ args: [...args, `--redis-url=${redis.url}`] });
    try {
      const before = await redisInfo(redis.port, "used_memory");
      const rssBefore = await redisInfo(redis.port, "used_memory_rss");
      const t = performance.now();
      await prefill([rnode.url], count, size, { batch: 100, group: 20, connections: 4 });
      const loadSeconds = (performance.now() - t) / 1000;
      const stored = await countKeys(rnode.url);
      const after = await redisInfo(redis.port, "used_memory");
      const rssAfter = await redisInfo(redis.port, "used_memory_rss");
      redisResult = {
        keys: stored,
        usedMemoryBefore: before,
        usedMemoryAfter: after,
        bytesPerKey: (after - before) / stored,
        redisRssBefore: rssBefore,
        redisRssAfter: rssAfter,
        nodeRss: rssBytes(rnode.pid),
        loadSeconds,
      };
      log(
        `redis: used_memory ${mb(before)} -> ${mb(after)} MB, ${redisResult.bytesPerKey?.toFixed(0)} bytes per key, loaded in ${loadSeconds.toFixed(1)} s through a node`,
      );
    } finally {
      await rnode.stop();
    }
  } finally {
    await redis.stop();
  }
  const path = save("memory", {
    kind: "memory",
    date: new Date().toISOString(),
    machine,
    settings: { keys: count, valueSize: size, keyBytes, rawBytes: raw },
    memory: memoryResult,
    redis: redisResult,
  });
  log(`wrote ${path}`);
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** The functions with the most self time in a .cpuprofile. */
export function topSelf(
  file: string,
  limit = 25,
): { name: string; where: string; percent: number }[] {
  const profile = JSON.parse(readFileSync(file, "utf8")) as {
    nodes: ProfileNode[];
    samples?: number[];
  };
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const hits = new Map<number, number>();
  if (profile.samples && profile.samples.length > 0) {
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const node of profile.nodes) hits.set(node.id, node.hitCount ?? 0);
  }
  const total = [...hits.values()].reduce((a, b) => a + b, 0) || 1;
  const byFunction = new Map<string, number>();
  for (const [id, n] of hits) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const where = frame.url.replace(/^.*\/(src|bench|node_modules)\//, "$1/");
    const name = `${frame.functionName || "(anonymous)"}\t${where}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + n);
  }
  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, n]) => {
      const [fn, where] = name.split("\t");
      return {
        name: fn as string,
        where: where ?? "",
        percent: Math.round((n / total) * 1000) / 10,
      };
    });
}

/** Each store under bun --cpu-prof at 64x32 set and get; summarises self time. */
async function profile(): Promise<void> {
  const dir = join(RESULTS_DIR, `profile-${stamp()}`);
  mkdirSync(dir, { recursive: true });
  const redis = await startRedis();
  const out: Record<string, unknown> = {};
  try {
    for (const store of ["memory", "redis"] as const) {
      const node = await spawnServer({
        args: [...NODE_ARGS, ...(store === "redis" ? [`--redis-url=${redis.url}`] : [])],
        env: {
          BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir} --cpu-prof-name=${store}.cpuprofile`,
        },
      });
      const loads: Record<string, number> = {};
      try {
        await prefill([node.url], keys, valueSize);
        for (const op of ["set", "get"] as const) {
          const r = await runLoad({
            urls: [node.url],
            connections: 64,
            window: 32,
            seconds,
            warmup: 0,
            op,
            keys,
            valueSize,
          });
          loads[op] = Math.round(r.opsPerSecond);
        }
      } finally {
        await node.stop();
      }
      const top = topSelf(join(dir, `${store}.cpuprofile`));
      out[store] = { loads, top };
      log(`\n${store} store, 64x32 set then get (${JSON.stringify(loads)} ops/s), self time:`);
      for (const f of top) log(`${f.percent.toFixed(1).padStart(6)}%  ${f.name}  ${f.where}`);
    }
  } finally {
    await redis.stop();
  }
  const path = save("profile", {
    kind: "profile",
    date: new Date().toISOString(),
    machine: machineInfo(),
    settings: { seconds, keys, valueSize },
    profiles: out,
    dir,
  });
  log(`wrote ${path} (profiles in ${dir})`);
}

/** The slow-reader mode (bench/slow-reader.ts) with its settings from the flags. */
async function slowReaderMode(): Promise<void> {
  const d = SLOW_READER_DEFAULTS;
  const settings = {
    ...d,
    stores: listFlag("stores", d.stores) as SlowReaderStore[],
    valueSizes: listFlag("value-sizes", d.valueSizes.map(String)).map(Number),
    requests: numberFlag(flags, "requests", d.requests),
    timeoutSeconds: numberFlag(flags, "timeout", d.timeoutSeconds),
  };
  const machine = machineInfo();
  const started = new Date();
  const scenarios = await slowReader(settings, log);
  machine.loadavgAfter = loadavg().map((n) => Math.round(n * 100) / 100);
  const finished = new Date();
  const path = save("slow-reader", {
    kind: "slow-reader",
    started: started.toISOString(),
    finished: finished.toISOString(),
    machine,
    settings,
    scenarios,
  });
  log(
    `slow reader: ${Math.round((finished.getTime() - started.getTime()) / 1000)} s; wrote ${path}`,
  );
}

if (import.meta.main) {
  if (flags.has("help")) {
    console.log(USAGE);
  } else if (flags.has("soak")) {
    await soak(numberFlag(flags, "soak", 600));
  } else if (flags.has("memory")) {
    await memory();
  } else if (flags.has("profile")) {
    await profile();
  } else if (flags.has("slow-reader")) {
    await slowReaderMode();
  } else {
    await matrix();
  }
  process.exit(0);
}
