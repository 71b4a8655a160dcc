/**
 * The processes of a benchmark and what is read from them: nodes, the
 * transport server and Redis, their memory and CPU from /proc, and the
 * machine they share.
 */

import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { procStatusBytes } from "../test/support/proc.ts";
import { type RedisServer, redisCli, startRedis } from "../test/support/redis.ts";
import {
  type Listening,
  type SpawnedServer,
  type SpawnOptions,
  spawnListening,
  spawnServer,
} from "../test/support/server.ts";
import type { CpuUse, MachineInfo } from "./results.ts";

export type { Listening, RedisServer, SpawnedServer };

/** Node arguments of the load runs: room for the largest message they send. */
/** Every benchmark node takes messages of a prefill batch. */
export const NODE_ARGS = ["--max-payload=65536"];

/** A node on the memory store, or on `redis` when given. */
export function startNode(
  redis: RedisServer | undefined,
  { args = NODE_ARGS, env }: SpawnOptions = {},
): Promise<SpawnedServer> {
  return spawnServer({ args: [...args, ...(redis ? [`--redis-url=${redis.url}`] : [])], env });
}

/** Runs `run` against a node started as by startNode, and stops the node after. */
export async function withNode<T>(
  redis: RedisServer | undefined,
  options: SpawnOptions,
  run: (node: SpawnedServer) => Promise<T>,
): Promise<T> {
  const node = await startNode(redis, options);
  try {
    return await run(node);
  } finally {
    await node.stop();
  }
}

/** Runs `run` against a fresh redis-server, and stops it after. */
export async function withRedis<T>(run: (redis: RedisServer) => Promise<T>): Promise<T> {
  const redis = await startRedis();
  try {
    return await run(redis);
  } finally {
    await redis.stop();
  }
}

/** The transport ceiling server on a free loopback port. */
export function startTransport(valueSize: number): Promise<Listening> {
  return spawnListening([
    "bun",
    "bench/transport-server.ts",
    "--port=0",
    `--value-size=${valueSize}`,
    ...NODE_ARGS,
  ]);
}

/** A size field of /proc/<pid>/status in bytes, or 0 once the process is gone. */
export function statusBytes(pid: number, field: "VmRSS" | "VmHWM" = "VmRSS"): number {
  try {
    return procStatusBytes(pid, field);
  } catch {
    return 0;
  }
}

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds the whole machine spent in user and system mode so far, from /proc/stat. */
export function machineCpuSeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").slice(0, 200);
  const [, user, nice, system] = line.split(/\s+/);
  return (Number(user) + Number(nice) + Number(system)) / TICKS_PER_SECOND;
}

/**
 * Waits until the whole machine used less than `cores` over a half second
 * (nothing of a benchmark runs then, so that is other processes), for at
 * most `seconds`; answers the cores of the last half second.
 */
export async function waitQuiet(cores: number, seconds: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    const before = machineCpuSeconds();
    await Bun.sleep(500);
    const busy = (machineCpuSeconds() - before) / 0.5;
    if (busy < cores || performance.now() >= deadline) return Math.round(busy * 100) / 100;
  }
}

/**
 * Measures the CPU of some processes and of this one between start() and
 * stop(), and what every other process on the machine used meanwhile;
 * pause() and start() again leave a stretch out (an interleaved load counts
 * only while its gate is open).
 */
export function cpuMeter(nodePids: number[], redisPids: number[]) {
  const selfCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + cpuSeconds(pid), 0);
  const read = () => ({
    node: sum(nodePids),
    redis: sum(redisPids),
    self: selfCpu(),
    machine: machineCpuSeconds(),
    t: performance.now() / 1000,
  });
  type Reading = ReturnType<typeof read>;
  const used = { node: 0, redis: 0, self: 0, machine: 0, t: 0 };
  let from: Reading | undefined;
  const pause = () => {
    if (from === undefined) return;
    const now = read();
    for (const k of ["node", "redis", "self", "machine", "t"] as const) used[k] += now[k] - from[k];
    from = undefined;
  };
  return {
    start() {
      from ??= read();
    },
    pause,
    /** Seconds measured so far, paused stretches left out. */
    get seconds(): number {
      return used.t + (from === undefined ? 0 : performance.now() / 1000 - from.t);
    },
    stop(ops: number): CpuUse {
      pause();
      const { node, self, t: seconds } = used;
      const redis = redisPids.length > 0 ? used.redis : undefined;
      const others = used.machine - node - (redis ?? 0) - self;
      const round = (n: number) => Math.round(n * 100) / 100;
      const perOp = (n: number) => Math.round((n / Math.max(1, ops)) * 1e7) / 10;
      return {
        nodeCores: round(node / seconds),
        generatorCores: round(self / seconds),
        nodeUsPerOp: perOp(node),
        generatorUsPerOp: perOp(self),
        othersCores: round(Math.max(0, others) / seconds),
        ...(redis === undefined
          ? {}
          : { redisCores: round(redis / seconds), redisUsPerOp: perOp(redis) }),
      };
    },
  };
}

/** A field of Redis `INFO`, as a number. */
export async function redisInfo(port: number, field: string): Promise<number> {
  const info = await redisCli(port, "INFO");
  const match = new RegExp(`^${field}:(\\S+)`, "m").exec(info);
  if (!match) throw new Error(`no ${field} in INFO`);
  return Number(match[1]);
}

export const loadAverage = () => loadavg().map((n) => Math.round(n * 100) / 100);

/** The machine a run is on, with its load average before the run. */
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
    loadavgBefore: loadAverage(),
  };
}
