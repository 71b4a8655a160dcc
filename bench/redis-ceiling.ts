/**
 * The Redis ceiling of the matrix: redis-benchmark, a C client, issuing the
 * commands kvfleet issues for each operation at the same connections and
 * pipeline depth, on the same key space and value size.
 */
import { APPEND_LUA } from "../src/store/redis-scripts.ts";
import { redisCli } from "../test/support/redis.ts";
import { cpuSeconds, type RedisServer } from "./process.ts";
import { keysPerRequest, MIXED, type Operation, valueText } from "./requests.ts";
import type { MatrixRow, MatrixSettings, RedisBenchmark, Shape } from "./results.ts";

type Command = Exclude<Operation, "mixed">;

/** The Redis commands kvfleet issues for each operation, as redis-benchmark arguments. */
function redisCommands(appendSha: string, valueSize: number) {
  const value = valueText(valueSize);
  return {
    get: ["GET", "key:__rand_int__"],
    // redis-benchmark draws each placeholder on its own: ten keys per MGET.
    get10: ["MGET", ...Array<string>(keysPerRequest("get10")).fill("key:__rand_int__")],
    // What a node sends while nobody watches (a quiet node, store/redis-quiet.ts).
    set: ["SET", "key:__rand_int__", value, "GET"],
    add: ["SET", "key:__rand_int__", value, "NX"],
    rmv: ["DEL", "key:__rand_int__"],
    append: ["EVALSHA", appendSha, "1", "key:__rand_int__", '{"v":"y"}'],
  } satisfies Record<Command, string[]>;
}

/** Requests per redis-benchmark run: about `seconds` at a rough rate for the shape. */
function requestsFor(shape: Shape, seconds: number): number {
  const inFlight = shape.connections * shape.window;
  const rate = inFlight <= 1 ? 20_000 : inFlight <= 64 ? 120_000 : 500_000;
  return Math.max(10_000, Math.round(rate * seconds));
}

/**
 * Runs redis-benchmark with one command at `connections` x `pipeline` for
 * `requests` requests on keys key:__rand_int__ (-r `keys`).
 */
async function redisBenchmark(
  port: number,
  { connections, window }: Shape,
  requests: number,
  keys: number,
  command: string[],
): Promise<RedisBenchmark> {
  const proc = Bun.spawn(
    [
      "redis-benchmark",
      ...["-h", "127.0.0.1", "-p", String(port)],
      ...["-c", String(connections), "-P", String(window), "-n", String(requests)],
      ...["-r", String(keys), "--csv", "--precision", "3"],
      ...command,
    ],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`redis-benchmark ${command.join(" ")} failed:\n${stderr}`);
  const lines = stdout.trim().split("\n");
  const header = (lines[0] ?? "").split(",").map((c) => c.replaceAll('"', ""));
  const cells = (lines.at(-1) ?? "").split(",").map((c) => c.replaceAll('"', ""));
  const field = (name: string) => Number(cells[header.indexOf(name)]);
  return {
    command: command.map((a) => (a.length > 24 ? `${a.slice(0, 8)}…` : a)).join(" "),
    rps: field("rps"),
    p50ms: field("p50_latency_ms"),
    p99ms: field("p99_latency_ms"),
  };
}

/** A matrix row for `op` from the figures of the commands it is made of. */
function ceilingRow(op: Operation, shape: Shape, parts: [RedisBenchmark, number][]): MatrixRow {
  // A mix runs each command for its share of the time its rate allows.
  const rps = 1 / parts.reduce((sum, [r, share]) => sum + share / r.rps, 0);
  const weighted = (f: (r: RedisBenchmark) => number) =>
    Math.round(parts.reduce((sum, [r, share]) => sum + share * f(r), 0) * 1000);
  const redisUs = parts.reduce((sum, [r, share]) => sum + share * (r.redisUsPerOp ?? 0), 0);
  return {
    target: "redis-benchmark",
    nodes: 1,
    op,
    ...shape,
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
    cpu: {
      nodeCores: 0,
      generatorCores: 0,
      nodeUsPerOp: 0,
      generatorUsPerOp: 0,
      redisUsPerOp: Math.round(redisUs * 10) / 10,
      redisCores: Math.round(((redisUs * rps) / 1e6) * 100) / 100,
    },
  };
}

/** The redis-benchmark rows of every shape and op of the settings, on `redis` (flushed first). */
export async function* redisCeilings(
  redis: RedisServer,
  { ops, shapes, seconds, keys, valueSize }: MatrixSettings,
): AsyncGenerator<MatrixRow> {
  await redisCli(redis.port, "FLUSHALL");
  const appendSha = (await redisCli(redis.port, "SCRIPT", "LOAD", APPEND_LUA)).trim();
  const commands = redisCommands(appendSha, valueSize);
  const fill = () =>
    redisBenchmark(redis.port, { connections: 64, window: 32 }, keys * 8, keys, [
      "SET",
      "key:__rand_int__",
      valueText(valueSize),
    ]);
  const needed = new Set<Command>();
  for (const op of ops) {
    if (op === "mixed") for (const [name] of MIXED) needed.add(name);
    else needed.add(op);
  }
  for (const shape of shapes) {
    const n = requestsFor(shape, seconds);
    const results = new Map<Command, RedisBenchmark>();
    for (const name of ["get", "get10", "set", "add", "append", "rmv"] as const) {
      if (!needed.has(name)) continue;
      // Gets and appends find their key in kvfleet's runs; the flush and removes leave some missing.
      if (name === "get" || name === "get10" || name === "append") await fill();
      const before = cpuSeconds(redis.pid);
      const result = await redisBenchmark(redis.port, shape, n, keys, commands[name]);
      result.redisUsPerOp = Math.round(((cpuSeconds(redis.pid) - before) / n) * 1e7) / 10;
      results.set(name, result);
    }
    const of = (name: Command) => results.get(name) as RedisBenchmark;
    for (const op of ops) {
      const parts: [RedisBenchmark, number][] =
        op === "mixed" ? MIXED.map(([name, share]) => [of(name), share]) : [[of(op), 1]];
      yield ceilingRow(op, shape, parts);
    }
  }
}
