/**
 * The matrix: the transport ceiling and kvfleet on the memory store and on
 * Redis, on each node count, for every op and shape, then redis-benchmark
 * issuing the Redis commands kvfleet issues (bench/redis-ceiling.ts).
 */
import { type RedisCluster, redisCli, startRedisCluster } from "../test/support/redis.ts";
import { prefill } from "./client.ts";
import { consoleTable } from "./format.ts";
import { runLoad } from "./load.ts";
import {
  cpuMeter,
  type Listening,
  loadAverage,
  machineInfo,
  NODE_ARGS,
  type RedisServer,
  startNode,
  startTransport,
  withRedis,
} from "./process.ts";
import { redisCeilings } from "./redis-ceiling.ts";
import { MIXED, type Operation } from "./requests.ts";
import {
  type MatrixRow,
  type MatrixRun,
  type MatrixSettings,
  type MatrixTarget,
  redisOf,
  type Shape,
  transportOf,
} from "./results.ts";

const TABLE = consoleTable<MatrixRow>([
  ["target", -15, (r) => r.target],
  ["n", 2, (r) => r.nodes],
  ["shape", 6, (r) => `${r.connections}x${r.window}`],
  ["op", -6, (r) => r.op],
  ["ops/s", 9, (r) => Math.round(r.opsPerSecond)],
  ["p50µs", 7, (r) => r.latencyUs.p50],
  ["p99µs", 7, (r) => r.latencyUs.p99],
  ["p999µs", 7, (r) => r.latencyUs.p999],
  ["errors", 6, (r) => r.errors],
  ["nodeµs", 6, (r) => r.cpu?.nodeUsPerOp ?? ""],
  ["redµs", 6, (r) => r.cpu?.redisUsPerOp ?? ""],
  ["gen", 5, (r) => r.cpu?.generatorCores ?? ""],
]);

interface Target {
  name: MatrixTarget;
  nodes: Listening[];
  /** The redis-server processes it uses: one, or a Cluster's masters. */
  redisPids: number[];
}

/** One scenario against one target's nodes: a row of the matrix. */
async function loadOne(
  target: Target,
  op: Operation,
  shape: Shape,
  settings: MatrixSettings,
): Promise<MatrixRow> {
  const meter = cpuMeter(
    target.nodes.map((n) => n.pid),
    target.redisPids,
  );
  const { seconds, warmup, keys, valueSize } = settings;
  const result = await runLoad({
    urls: target.nodes.map((n) => n.url),
    ...shape,
    seconds,
    warmup,
    op,
    keys,
    valueSize,
    onMeasure: meter.start,
  });
  const cpu = meter.stop(result.ops);
  if (result.errors > 0)
    console.log(`  ! ${result.errors} errors: ${result.errorSamples.slice(0, 2).join(" | ")}`);
  return {
    target: target.name,
    nodes: target.nodes.length,
    op,
    ...shape,
    opsPerSecond: Math.round(result.opsPerSecond),
    errors: result.errors,
    latencyUs: result.latencyUs,
    cpu,
  };
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

/** The targets' rows on `count` nodes each (the transport server counts as a node). */
async function onNodes(
  count: number,
  redis: RedisServer,
  cluster: RedisCluster | undefined,
  settings: MatrixSettings,
): Promise<MatrixRow[]> {
  const { keys, valueSize } = settings;
  const wanted = (name: MatrixTarget) => settings.targets.includes(name);
  // Every target's nodes run at once and each scenario loads them one
  // after the other, so the ratios compare figures taken seconds apart:
  // on a shared machine the speed drifts over minutes.
  const targets: Target[] = [];
  const rows: MatrixRow[] = [];
  try {
    if (wanted("transport")) {
      const nodes = await startNodes(count, () => startTransport(valueSize));
      targets.push({ name: "transport", nodes, redisPids: [] });
    }
    if (wanted("memory")) {
      const nodes = await startNodes(count, () => startNode(undefined));
      targets.push({ name: "memory", nodes, redisPids: [] });
      await prefill(
        nodes.map((n) => n.url),
        keys,
        valueSize,
      );
    }
    if (wanted("redis")) {
      await redisCli(redis.port, "FLUSHALL");
      const nodes = await startNodes(count, () => startNode(redis));
      targets.push({ name: "redis", nodes, redisPids: [redis.pid] });
      // The nodes share the Redis: filling through one fills it for all.
      await prefill([(nodes[0] as Listening).url], keys, valueSize);
    }
    if (cluster !== undefined) {
      await Promise.all(cluster.nodes.map((node) => redisCli(node.port, "FLUSHALL")));
      const args = [...NODE_ARGS, `--redis-cluster=${cluster.urls.join(",")}`];
      const nodes = await startNodes(count, () => startNode(undefined, { args }));
      targets.push({ name: "redis-cluster", nodes, redisPids: cluster.nodes.map((n) => n.pid) });
      await prefill([(nodes[0] as Listening).url], keys, valueSize);
    }
    for (const shape of settings.shapes) {
      // Connections alternate between the nodes: fewer than nodes leaves one idle.
      if (shape.connections < count) continue;
      for (const op of settings.ops) {
        for (const target of targets) {
          const row = await loadOne(target, op, shape, settings);
          rows.push(row);
          console.log(TABLE.line(row));
        }
      }
    }
  } finally {
    await Promise.all(targets.flatMap((t) => t.nodes.map((n) => n.stop())));
  }
  return rows;
}

export async function matrix(settings: MatrixSettings): Promise<MatrixRun> {
  const { seconds, warmup, keys, valueSize } = settings;
  const machine = machineInfo();
  const started = new Date();
  console.log(
    `kvfleet bench: ${seconds} s per scenario after ${warmup} s warm-up, ${keys} keys, ${valueSize}-byte values; load average ${machine.loadavgBefore.join(" ")}`,
  );
  console.log(TABLE.header);
  const rows = await withRedis(async (redis) => {
    const rows: MatrixRow[] = [];
    // Three masters on loopback, no replicas: the Cluster's own cost beside one Redis.
    const cluster = settings.targets.includes("redis-cluster")
      ? await startRedisCluster()
      : undefined;
    try {
      for (const count of settings.nodes) {
        rows.push(...(await onNodes(count, redis, cluster, settings)));
      }
    } finally {
      await cluster?.stop();
    }
    if (settings.targets.includes("redis-benchmark")) {
      for await (const row of redisCeilings(redis, settings)) {
        rows.push(row);
        console.log(TABLE.line(row));
      }
    }
    return rows;
  });
  machine.loadavgAfter = loadAverage();
  const finished = new Date();
  printRatios(rows);
  console.log(
    `\n${rows.length} scenarios in ${Math.round((finished.getTime() - started.getTime()) / 1000)} s; load average after ${machine.loadavgAfter.join(" ")}`,
  );
  return {
    started: started.toISOString(),
    finished: finished.toISOString(),
    machine,
    settings: { seconds, warmup, keys, valueSize, mixed: MIXED },
    rows,
  };
}

const ratio = (a: number, b: MatrixRow | undefined) =>
  b && b.opsPerSecond > 0 ? (a / b.opsPerSecond).toFixed(2) : "-";

function printRatios(rows: MatrixRow[]): void {
  console.log(`\n${TABLE.header} ${"/transport".padStart(10)} ${"/redis-bm".padStart(9)}`);
  for (const row of rows) {
    const t = row.target === "transport" ? "1.00" : ratio(row.opsPerSecond, transportOf(rows, row));
    const r = row.target === "redis" ? ratio(row.opsPerSecond, redisOf(rows, row)) : "";
    console.log(`${TABLE.line(row)} ${t.padStart(10)} ${r.padStart(9)}`);
  }
}
