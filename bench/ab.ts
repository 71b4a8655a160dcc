/**
 * `bun bench/ab.ts --base=DIR`: the same load against the node of another
 * checkout (DIR, e.g. a `git worktree` of the previous commit) and of this
 * one, alternating round by round so both see the same machine noise.
 * Prints ops/s per scenario and the ratio this/base, median over rounds.
 */
import { parseArgs } from "node:util";
import { spawnListening } from "../test/support/server.ts";
import { choiceFlag, items, numberFlag, runMain, shapeFlag, UsageError } from "./cli.ts";
import { prefill } from "./client.ts";
import { runLoad } from "./load.ts";
import { type RedisServer, withRedis } from "./process.ts";
import { OPERATIONS, PROTOCOLS, type Protocol } from "./requests.ts";
import { median } from "./timing.ts";

const USAGE = `bun bench/ab.ts --base=DIR [options]

  --base=DIR       the checkout to compare this one with (required)
  --rounds=N       rounds, each loading base then this (default 3)
  --seconds=S      measured seconds per scenario (default 3)
  --shapes=LIST    shapes CxW (default 64x32,1x1)
  --ops=LIST       operations (default set,get)
  --stores=LIST    memory, redis (default memory,redis)
  --protocol=V     1, or 2 (kvfleet.v2, requests with ids; default 1)
`;

const OPTIONS = {
  base: { type: "string" },
  rounds: { type: "string", default: "3" },
  seconds: { type: "string", default: "3" },
  shapes: { type: "string", default: "64x32,1x1" },
  ops: { type: "string", default: "set,get" },
  stores: { type: "string", default: "memory,redis" },
  protocol: { type: "string", default: "1" },
  help: { type: "boolean", default: false },
} as const;

const KEYS = 10_000;
const VALUE_SIZE = 100;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: OPTIONS });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.base === undefined) throw new UsageError("--base=DIR is required");
  const trees = { base: values.base, this: new URL("..", import.meta.url).pathname };
  const rounds = numberFlag("rounds", values.rounds);
  const seconds = numberFlag("seconds", values.seconds);
  const shapes = items(values.shapes).map((s) => shapeFlag("shapes", s));
  const ops = items(values.ops).map((op) => choiceFlag("ops", op, OPERATIONS));
  const stores = items(values.stores).map((s) => choiceFlag("stores", s, ["memory", "redis"]));
  const protocol = Number(choiceFlag("protocol", values.protocol, PROTOCOLS)) as Protocol;

  const results = new Map<string, { base: number[]; this: number[] }>();
  const round = async (redis: RedisServer) => {
    for (const store of stores) {
      for (const tree of ["base", "this"] as const) {
        const node = await spawnListening([
          "bun",
          `${trees[tree]}/src/main.ts`,
          "--ip=127.0.0.1",
          "--port=0",
          "--log-level=warn",
          "--max-payload=65536",
          ...(store === "redis" ? [`--redis-url=${redis.url}`] : []),
        ]);
        try {
          await prefill([node.url], KEYS, VALUE_SIZE);
          for (const op of ops) {
            for (const shape of shapes) {
              const result = await runLoad({
                urls: [node.url],
                ...shape,
                seconds,
                warmup: 1,
                op,
                protocol,
                keys: KEYS,
                valueSize: VALUE_SIZE,
              });
              const name = `${store} ${op} ${shape.connections}x${shape.window}`;
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
  };
  await withRedis(async (redis) => {
    for (let i = 0; i < rounds; i++) await round(redis);
  });

  console.log("scenario                 base ops/s   this ops/s   this/base");
  for (const [name, row] of results) {
    const base = median(row.base);
    const now = median(row.this);
    console.log(
      `${name.padEnd(24)} ${base.toFixed(0).padStart(11)} ${now.toFixed(0).padStart(12)} ${(now / base).toFixed(2).padStart(11)}`,
    );
  }
  return 0;
}

if (import.meta.main) await runMain(USAGE, main);
