/**
 * Throughput through one node with 64 connections: memory store, Redis
 * store, and redis-benchmark's figure for the same commands on the same
 * Redis, all in one run so the ratios are comparable.
 */
import { startRedis } from "../test/support/redis.ts";
import { spawnServer } from "../test/support/server.ts";
import { prefill, runLoad } from "./load.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = 64;
const window = Number(process.env.BENCH_WINDOW ?? 32);
const keys = 10_000;
const valueSize = 100;

const redis = await startRedis();
const rows: [string, string, number][] = [];
try {
  for (const [store, args] of [
    ["memory", []],
    ["redis", [`--redis-url=${redis.url}`]],
  ] as const) {
    const node = await spawnServer({ args: ["--max-payload=65536", ...args] });
    try {
      for (const op of ["set", "get"] as const) {
        if (op === "get") await prefill([node.url], keys, valueSize);
        const result = await runLoad({
          urls: [node.url],
          connections,
          window,
          seconds,
          warmup: 1,
          op,
          keys,
          valueSize,
        });
        if (result.errors > 0)
          throw new Error(`${store} ${op}: ${result.errors} unexpected statuses`);
        rows.push([`kvfleet ${store}`, op, result.opsPerSecond]);
      }
    } finally {
      await node.stop();
    }
  }
  const bench = Bun.spawnSync([
    "redis-benchmark",
    "-h",
    "127.0.0.1",
    "-p",
    String(redis.port),
    "-c",
    String(connections),
    "-P",
    String(window),
    "-n",
    "1000000",
    "-r",
    String(keys),
    "-d",
    String(valueSize),
    "-t",
    "set,get",
    "--csv",
  ]);
  for (const line of bench.stdout.toString().trim().split("\n").slice(1)) {
    const [name, rps] = line.split(",").map((cell) => cell.replaceAll('"', ""));
    rows.push(["redis-benchmark", (name ?? "").toLowerCase(), Number(rps)]);
  }
} finally {
  await redis.stop();
}

console.log(
  `${connections} connections x ${window} in flight, ${seconds} s per run, ${valueSize}-byte values`,
);
console.log("target".padEnd(18), "op".padEnd(4), "ops/s".padStart(10));
for (const [target, op, rate] of rows) {
  console.log(target.padEnd(18), op.padEnd(4), Math.round(rate).toString().padStart(10));
}
