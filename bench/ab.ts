/**
 * `bun bench/ab.ts --base=DIR`: the same load against the node of another
 * checkout (DIR, e.g. a `git worktree` of the previous commit) and of this
 * one, alternating round by round so both see the same machine noise.
 * Prints ops/s per scenario and the ratio this/base, median over rounds.
 */
import { parseArgs } from "node:util";
import { startRedis } from "../test/support/redis.ts";
import { spawnListening } from "../test/support/server.ts";
import { prefill } from "./client.ts";
import { runLoad } from "./load.ts";
import type { Operation } from "./requests.ts";

const { values } = parseArgs({
  options: {
    base: { type: "string" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "3" },
    shapes: { type: "string", default: "64x32,1x1" },
    ops: { type: "string", default: "set,get" },
    stores: { type: "string", default: "memory,redis" },
  },
});
if (values.base === undefined)
  throw new Error("--base=DIR (a checkout to compare with) is required");
const HERE = new URL("..", import.meta.url).pathname;
const trees = { base: values.base, this: HERE } as const;
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const shapes = values.shapes.split(",").map((s) => s.split("x").map(Number) as [number, number]);
const ops = values.ops.split(",") as Operation[];
const stores = values.stores.split(",");

const redis = await startRedis();
const results = new Map<string, { base: number[]; this: number[] }>();
try {
  for (let round = 0; round < rounds; round++) {
    for (const store of stores) {
      for (const tree of ["base", "this"] as const) {
        const args = store === "redis" ? [`--redis-url=${redis.url}`] : [];
        const node = await spawnListening([
          "bun",
          `${trees[tree]}/src/main.ts`,
          "--ip=127.0.0.1",
          "--port=0",
          "--log-level=warn",
          "--max-payload=65536",
          ...args,
        ]);
        try {
          await prefill([node.url], 10_000, 100);
          for (const op of ops) {
            for (const [connections, window] of shapes) {
              const result = await runLoad({
                urls: [node.url],
                connections,
                window,
                seconds,
                warmup: 1,
                op,
                keys: 10_000,
                valueSize: 100,
              });
              const name = `${store} ${op} ${connections}x${window}`;
              const row = results.get(name) ?? { base: [], this: [] };
              row[tree].push(result.opsPerSecond);
              results.set(name, row);
            }
          }
        } finally {
          await node.stop();
        }
      }
    }
  }
} finally {
  await redis.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
console.log("scenario                 base ops/s   this ops/s   this/base");
for (const [name, row] of results) {
  const base = median(row.base);
  const now = median(row.this);
  console.log(
    `${name.padEnd(24)} ${base.toFixed(0).padStart(11)} ${now.toFixed(0).padStart(12)} ${(now / base).toFixed(2).padStart(11)}`,
  );
}
