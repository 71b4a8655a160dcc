/**
 * Child processes of a benchmark: nodes, the transport server, Redis
 * figures, and the memory a process holds.
 */
import { readFileSync } from "node:fs";
import { redisCli } from "../test/support/redis.ts";
import { type Listening, spawnListening } from "../test/support/server.ts";

export type { Listening };

/** The transport ceiling server on a free loopback port. */
export function startTransport(valueSize: number): Promise<Listening> {
  return spawnListening([
    "bun",
    "bench/transport-server.ts",
    "--port=0",
    `--value-size=${valueSize}`,
    "--max-payload=65536",
  ]);
}

/** Resident set size of a process in bytes, from /proc/<pid>/status VmRSS. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** A field of Redis `INFO`, as a number. */
export async function redisInfo(port: number, field: string): Promise<number> {
  const info = await redisCli(port, "INFO");
  const match = new RegExp(`^${field}:(\\S+)`, "m").exec(info);
  if (!match) throw new Error(`no ${field} in INFO`);
  return Number(match[1]);
}

export interface RedisBenchmark {
  command: string;
  rps: number;
  p50ms: number;
  p99ms: number;
  /** CPU of redis-server per request, when measured. */
  redisUsPerOp?: number;
}

/**
 * Runs redis-benchmark with one command at `connections` x `pipeline` for
 * `requests` requests on keys key:__rand_int__ (-r `keys`).
 */
export async function redisBenchmark(
  port: number,
  connections: number,
  pipeline: number,
  requests: number,
  keys: number,
  command: string[],
): Promise<RedisBenchmark> {
  const proc = Bun.spawn(
    [
      "redis-benchmark",
      ...["-h", "127.0.0.1", "-p", String(port)],
      ...["-c", String(connections), "-P", String(pipeline), "-n", String(requests)],
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
