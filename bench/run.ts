/**
 * `bun run bench`: the matrix (bench/matrix.ts) or one of the other modes,
 * each starting and stopping its own redis-server and nodes on loopback, its
 * run saved to bench/results/ for `bun run bench:report`. See USAGE.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { choiceFlag, items, numberFlag, runMain, shapeFlag, UsageError } from "./cli.ts";
import { CLIENT_TARGET, clientCost } from "./client-cost.ts";
import { fanoutRun, printFanout } from "./fanout.ts";
import { matrix } from "./matrix.ts";
import { memory } from "./memory.ts";
import { profile } from "./profile.ts";
import { protocolV2, V2_SCENARIOS, V2_TARGET } from "./protocol-v2.ts";
import { OPERATIONS, PROTOCOLS, type Protocol } from "./requests.ts";
import { FANOUT_STORES, MATRIX_TARGETS, RESULTS_DIR, save, stamp } from "./results.ts";
import { SLOW_READER_DEFAULTS, slowReader } from "./slow-reader.ts";
import { soak } from "./soak.ts";

const slow = SLOW_READER_DEFAULTS;
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
  --only=LIST        targets to run, comma-separated: ${MATRIX_TARGETS.join(", ")}
                     (default all)
  --ops=LIST         operations (default set,get,mixed; also add, rmv,
                     append, get10: a 10-key KV_GET)
  --shapes=LIST      shapes CxW (default 1x1,64x1,64x32)
  --nodes=LIST       node counts (default 1,2); a shape with fewer
                     connections than nodes is skipped

Other modes, each writing bench/results/<timestamp>-<mode>.json:

  --soak S           mixed load for S seconds on one node (default store
                     redis, --store=memory for the other), throughput per
                     --interval (default 10) seconds and the node's RSS
                     (VmRSS) over time; --shapes=CxW (default 64x32)
  --memory           RSS of a memory node holding --memory-keys (default
                     1000000) keys of --value-size values, and Redis
                     used_memory for the same keys loaded through a node
  --profile          runs a node under bun --cpu-prof for each store at
                     64x32 (set, get; --seconds each) and prints the
                     functions with the most self time; --protocol=2 loads
                     it in protocol version 2
  --slow-reader      per store and value size, a client pipelines
                     --requests (default ${slow.requests}) KV_GETs and never reads;
                     the node's peak RSS, how and when it closes that
                     client (--timeout S, default ${slow.timeoutSeconds}), and another
                     client's 1x1 latency meanwhile; --value-sizes=LIST
                     (default ${slow.valueSizes.join(",")}), --stores=LIST (${slow.stores.join(",")})
  --v2               protocol 2 (kvfleet.v2, ids) against protocol 1 on one
                     memory node and one Redis node: --rounds (default 3)
                     rounds, each loading every scenario in v1 and v2 at
                     once, only one sending at a time, swapping every
                     --slice (default 0.2) s until each sent --seconds
                     (--slice=0: one after the other, order flipped every
                     round); v2/v1 per scenario over the whole run and per
                     round, flagged below ${V2_TARGET}; --scenarios=LIST of op:CxW
                     (default ${V2_SCENARIOS}),
                     --stores=LIST, --seconds, --warmup; before each pair
                     waits up to --quiet-wait (default 5) s for the machine
                     to use < --quiet (default 0.3) cores
  --client           the client library (kvfleet-client) against the raw
                     load generator on the same memory node: one
                     connection, --in-flight (default 64) calls or
                     requests in flight, --ops set,get by default, each
                     loaded by both back to back for --rounds (default 3),
                     order flipped every round; client/raw per op, flagged
                     below ${CLIENT_TARGET}; --stores (default memory), --seconds,
                     --warmup, --quiet, --quiet-wait as for --v2
  --fanout           change events fanned out: one writer keeps --window
                     (default 8) KV_SETs of one prefix in flight through the
                     first node, --watchers (default 1000) v2 connections
                     watch it over two nodes (one on the memory store) for
                     --seconds; events/s delivered, missing events, write ->
                     event latency; --store=redis (default), redis-cluster
                     or memory
  --help             this text

Then \`bun run bench:report\` writes docs/benchmarks.md and its SVG charts.
`;

const OPTIONS = {
  seconds: { type: "string", default: process.env.BENCH_SECONDS ?? "3" },
  warmup: { type: "string", default: process.env.BENCH_WARMUP ?? "1" },
  keys: { type: "string", default: "10000" },
  "value-size": { type: "string", default: "100" },
  only: { type: "string", default: MATRIX_TARGETS.join(",") },
  ops: { type: "string" },
  shapes: { type: "string" },
  nodes: { type: "string", default: "1,2" },
  soak: { type: "string" },
  store: { type: "string", default: "redis" },
  interval: { type: "string", default: "10" },
  memory: { type: "boolean", default: false },
  "memory-keys": { type: "string", default: "1000000" },
  profile: { type: "boolean", default: false },
  "slow-reader": { type: "boolean", default: false },
  requests: { type: "string", default: String(slow.requests) },
  timeout: { type: "string", default: String(slow.timeoutSeconds) },
  "value-sizes": { type: "string", default: slow.valueSizes.join(",") },
  stores: { type: "string" },
  protocol: { type: "string", default: "1" },
  v2: { type: "boolean", default: false },
  client: { type: "boolean", default: false },
  "in-flight": { type: "string", default: "64" },
  rounds: { type: "string", default: "3" },
  scenarios: { type: "string", default: V2_SCENARIOS },
  quiet: { type: "string", default: "0.3" },
  "quiet-wait": { type: "string", default: "5" },
  slice: { type: "string", default: "0.2" },
  fanout: { type: "boolean", default: false },
  watchers: { type: "string", default: "1000" },
  window: { type: "string", default: "8" },
  help: { type: "boolean", default: false },
} as const;
type NumberFlag =
  | "seconds"
  | "warmup"
  | "keys"
  | "value-size"
  | "interval"
  | "memory-keys"
  | "requests"
  | "timeout"
  | "rounds"
  | "quiet"
  | "quiet-wait"
  | "slice"
  | "watchers"
  | "window"
  | "in-flight";

const STORES = ["memory", "redis"] as const;
const CLIENT_OPS = ["set", "get"] as const;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: OPTIONS });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const number = (name: NumberFlag) => numberFlag(name, values[name]);
  const load = {
    seconds: number("seconds"),
    warmup: number("warmup"),
    keys: number("keys"),
    valueSize: number("value-size"),
  };
  const stores = (fallback: string) =>
    items(values.stores ?? fallback).map((s) => choiceFlag("stores", s, STORES));
  const quiet = { cores: number("quiet"), seconds: number("quiet-wait") };
  const rounds = Math.max(1, Math.round(number("rounds")));
  const shapes = (fallback: string) =>
    items(values.shapes ?? fallback).map((s) => shapeFlag("shapes", s));
  let path: string;
  let code = 0;
  if (values.soak !== undefined) {
    const [shape, ...more] = shapes("64x32");
    if (!shape || more.length > 0) throw new UsageError("--soak runs one shape");
    const settings = {
      ...load,
      ...shape,
      seconds: numberFlag("soak", values.soak),
      store: choiceFlag("store", values.store, STORES),
      windowSeconds: number("interval"),
    };
    path = save("soak", await soak(settings));
  } else if (values.memory) {
    const settings = { keys: number("memory-keys"), valueSize: load.valueSize };
    path = save("memory", await memory(settings));
  } else if (values.profile) {
    const settings = {
      seconds: load.seconds,
      keys: load.keys,
      valueSize: load.valueSize,
      protocol: Number(choiceFlag("protocol", values.protocol, PROTOCOLS)) as Protocol,
    };
    path = save("profile", await profile(settings, join(RESULTS_DIR, `profile-${stamp()}`)));
  } else if (values["slow-reader"]) {
    const settings = {
      ...SLOW_READER_DEFAULTS,
      stores: stores(slow.stores.join(",")),
      valueSizes: items(values["value-sizes"]).map((v) => numberFlag("value-sizes", v)),
      requests: number("requests"),
      timeoutSeconds: number("timeout"),
    };
    path = save("slow-reader", await slowReader(settings));
  } else if (values.v2) {
    const settings = {
      ...load,
      stores: stores(slow.stores.join(",")),
      scenarios: items(values.scenarios).map((text) => {
        const [op = "", shape = "", ...more] = text.split(":");
        if (more.length > 0) throw new UsageError(`--scenarios: ${text} is not op:CxW`);
        return { op: choiceFlag("scenarios", op, OPERATIONS), ...shapeFlag("scenarios", shape) };
      }),
      rounds,
      quiet,
      slice: number("slice"),
    };
    path = save("v2", await protocolV2(settings));
  } else if (values.fanout) {
    const settings = {
      store: choiceFlag("store", values.store, FANOUT_STORES),
      watchers: number("watchers"),
      seconds: load.seconds,
      window: number("window"),
      valueSize: load.valueSize,
    };
    const started = new Date().toISOString();
    const result = await fanoutRun(settings);
    printFanout(result, settings.window);
    path = save("fanout", { ...result, started, settings });
    if (result.missing > 0) code = 1;
  } else if (values.client) {
    const settings = {
      ...load,
      stores: stores("memory"),
      ops: items(values.ops ?? "set,get").map((op) => choiceFlag("ops", op, CLIENT_OPS)),
      inFlight: Math.max(1, Math.round(number("in-flight"))),
      rounds,
      quiet,
    };
    path = save("client", await clientCost(settings));
  } else {
    const settings = {
      ...load,
      targets: items(values.only).map((t) => choiceFlag("only", t, MATRIX_TARGETS)),
      ops: items(values.ops ?? "set,get,mixed").map((op) => choiceFlag("ops", op, OPERATIONS)),
      shapes: shapes("1x1,64x1,64x32"),
      nodes: items(values.nodes).map((n) => numberFlag("nodes", n)),
    };
    path = save("matrix", await matrix(settings));
  }
  console.log(`wrote ${path}`);
  return code;
}

if (import.meta.main) await runMain(USAGE, main);
