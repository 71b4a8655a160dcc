/**
 * Paired comparisons on running nodes (`--v2`, `--client`): one node per
 * store for the whole run, and per round and row two loads back to back, the
 * order flipping every round as in bench/ab.ts, so machine noise touches
 * both alike; each round's ratio is the second loader's throughput over the
 * first's.
 */
import { redisCli } from "../test/support/redis.ts";
import { prefill } from "./client.ts";
import type { LoadResult } from "./load.ts";
import {
  cpuMeter,
  loadAverage,
  machineInfo,
  type RedisServer,
  type SpawnedServer,
  startNode,
  waitQuiet,
  withRedis,
} from "./process.ts";
import type { LoadSettings, MachineInfo, ProtocolSample, StoreType } from "./results.ts";

/** The middle value, or the mean of the two middle ones. */
export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const half = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[half] as number;
  return sorted.length === 0 ? 0 : ((sorted[half - 1] as number) + (sorted[half] as number)) / 2;
}

/** A node of a comparison, on one store, with the Redis processes it uses. */
export interface Node {
  store: StoreType;
  node: SpawnedServer;
  redisPids: number[];
}

/** One load on a node, with the node's, Redis's and this process's CPU measured while it records. */
export async function measure(
  { node, redisPids }: Node,
  first: boolean,
  load: (onMeasure: () => void) => Promise<LoadResult>,
): Promise<ProtocolSample> {
  const meter = cpuMeter([node.pid], redisPids);
  const result = await load(meter.start);
  const cpu = meter.stop(result.ops);
  if (result.errors > 0)
    console.log(`  ! ${result.errors} errors: ${result.errorSamples.slice(0, 2).join(" | ")}`);
  return {
    opsPerSecond: Math.round(result.opsPerSecond),
    keysPerSecond: Math.round(result.keysPerSecond),
    errors: result.errors,
    latencyUs: result.latencyUs,
    cpu,
    first,
  };
}

/** One node per store, each filled with the key space. */
async function startNodes(
  redis: RedisServer,
  stores: StoreType[],
  { keys, valueSize }: LoadSettings,
): Promise<Node[]> {
  const nodes: Node[] = [];
  try {
    for (const store of stores) {
      if (store === "redis") await redisCli(redis.port, "FLUSHALL");
      const node = await startNode(store === "redis" ? redis : undefined);
      nodes.push({ store, node, redisPids: store === "redis" ? [redis.pid] : [] });
      await prefill([node.url], keys, valueSize);
    }
    return nodes;
  } catch (error) {
    await Promise.all(nodes.map((n) => n.node.stop()));
    throw error;
  }
}

/** What a row of a paired comparison records besides its samples. */
export interface PairedRow {
  store: StoreType;
  /** The second loader's ops/s over the first's, per round. */
  ratios: number[];
  /** Cores the machine used just before each pair (after waiting for quiet). */
  busyBefore: number[];
}

export interface PairedSettings extends LoadSettings {
  stores: StoreType[];
  rounds: number;
  /** Before each pair, wait (at most `seconds`) for other processes to use less than `cores`. */
  quiet: { cores: number; seconds: number };
}

export interface Pairing<R extends PairedRow, L> {
  /** The two loaders; the ratio is loaders[1] over loaders[0]; loaders[0] goes first in even rounds. */
  loaders: readonly [L, L];
  /** The rows of a node's store. */
  rowsOf(store: StoreType): R[];
  /** Where a row keeps a loader's samples. */
  samples(row: R, loader: L): ProtocolSample[];
  load(node: Node, row: R, loader: L, first: boolean): Promise<ProtocolSample>;
  /** Prints one sample as it comes (after `header`). */
  header: string;
  line(row: R, loader: L, sample: ProtocolSample): string;
}

/** Starts the nodes, runs every round, stops the nodes; answers the rows and the run's times. */
export async function pairedRounds<R extends PairedRow, L>(
  settings: PairedSettings,
  pairing: Pairing<R, L>,
): Promise<{ rows: R[]; started: string; finished: string; machine: MachineInfo }> {
  const machine = machineInfo();
  const started = new Date().toISOString();
  const rows: R[] = [];
  await withRedis(async (redis) => {
    const nodes = await startNodes(redis, settings.stores, settings);
    try {
      for (const { store } of nodes) rows.push(...pairing.rowsOf(store));
      console.log(pairing.header);
      const [first, second] = pairing.loaders;
      for (let round = 0; round < settings.rounds; round++) {
        const order = round % 2 === 0 ? [first, second] : [second, first];
        for (const row of rows) {
          const node = nodes.find((n) => n.store === row.store) as Node;
          row.busyBefore.push(await waitQuiet(settings.quiet.cores, settings.quiet.seconds));
          for (const loader of order) {
            const s = await pairing.load(node, row, loader, loader === order[0]);
            pairing.samples(row, loader).push(s);
            console.log(pairing.line(row, loader, s));
          }
          const base = pairing.samples(row, first).at(-1) as ProtocolSample;
          const other = pairing.samples(row, second).at(-1) as ProtocolSample;
          row.ratios.push(base.opsPerSecond > 0 ? other.opsPerSecond / base.opsPerSecond : 0);
        }
      }
    } finally {
      await Promise.all(nodes.map((n) => n.node.stop()));
    }
  });
  machine.loadavgAfter = loadAverage();
  return { rows, started, finished: new Date().toISOString(), machine };
}

/** The closing line of a run's summary: errors, duration, load. */
export function footer(
  run: { started: string; finished: string; machine: MachineInfo },
  samples: ProtocolSample[],
): string {
  const errors = samples.reduce((n, s) => n + s.errors, 0);
  const seconds = Math.round((Date.parse(run.finished) - Date.parse(run.started)) / 1000);
  return `\n${errors} errors; ${seconds} s from ${run.started}; load average before ${run.machine.loadavgBefore.join(" ")}, after ${run.machine.loadavgAfter?.join(" ")}`;
}
