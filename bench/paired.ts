/**
 * Paired comparisons on running nodes (`--v2`, `--client`): one node per
 * store for the whole run, and per round and row two loads back to back, the
 * order flipping every round as in bench/ab.ts, so machine noise touches
 * both alike; each round's ratio is the second loader's throughput over the
 * first's.
 */
import { redisCli } from "../test/support/redis.ts";
import { prefill } from "./client.ts";
import { LoadGate, type LoadResult } from "./load.ts";
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
import type { CpuUse, LoadSettings, MachineInfo, ProtocolSample, StoreType } from "./results.ts";

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
  return sampleOf(result, meter.stop(result.ops), first, result.seconds);
}

/** What a load gave, at `seconds` of sending. */
function sampleOf(
  result: LoadResult,
  cpu: CpuUse,
  first: boolean,
  seconds: number,
): ProtocolSample {
  if (result.errors > 0)
    console.log(`  ! ${result.errors} errors: ${result.errorSamples.slice(0, 2).join(" | ")}`);
  const perSecond = (n: number) => Math.round((n * result.seconds) / seconds);
  return {
    opsPerSecond: perSecond(result.opsPerSecond),
    keysPerSecond: perSecond(result.keysPerSecond),
    errors: result.errors,
    latencyUs: result.latencyUs,
    cpu,
    first,
  };
}

/** A load that sends only while its gate is open, and says when it starts and stops measuring. */
export type GatedLoad = (
  gate: LoadGate,
  onMeasure: () => void,
  onMeasured: () => void,
) => Promise<LoadResult>;

/**
 * Two loads on one node at once, only one of them sending at a time: the
 * gates swap every `slice` seconds, so a stretch of machine noise falls on
 * both alike rather than on whichever load ran then (on this machine a 3 s
 * load's throughput varies by 10-15 % from one load to the next, and
 * within a load by as much from one half second to the next). Each load's
 * ops/s and CPU are over the time its gate was open while both measured.
 */
export async function interleaved(
  { node, redisPids }: Node,
  slice: number,
  loads: readonly [GatedLoad, GatedLoad],
): Promise<[ProtocolSample, ProtocolSample]> {
  const gates = [new LoadGate(true), new LoadGate(false)] as const;
  const meters = [cpuMeter([node.pid], redisPids), cpuMeter([node.pid], redisPids)] as const;
  let open: 0 | 1 = 0;
  let measuring = false;
  let started = 0;
  const swap = () => {
    if (measuring) meters[open].pause();
    gates[open].set(false);
    open = open === 0 ? 1 : 0;
    gates[open].set(true);
    if (measuring) meters[open].start();
  };
  const timer = setInterval(swap, slice * 1000);
  // The two loads start and stop measuring a few ms apart; the meters run while both measure.
  const onMeasure = () => {
    if (++started < 2) return;
    measuring = true;
    meters[open].start();
  };
  const onMeasured = () => {
    if (!measuring) return;
    measuring = false;
    meters[open].pause();
  };
  try {
    const [a, b] = await Promise.all([
      loads[0](gates[0], onMeasure, onMeasured),
      loads[1](gates[1], onMeasure, onMeasured),
    ]);
    const sample = (result: LoadResult, i: 0 | 1) => {
      const sending = meters[i].seconds;
      return sampleOf(result, meters[i].stop(result.ops), i === 0, sending);
    };
    return [sample(a, 0), sample(b, 1)];
  } finally {
    clearInterval(timer);
  }
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
  /** Seconds between the gates' swaps when the pair's loads run interleaved; 0 runs them one after the other. */
  slice?: number;
}

export interface Pairing<R extends PairedRow, L> {
  /** The two loaders; the ratio is loaders[1] over loaders[0]; loaders[0] goes first in even rounds. */
  loaders: readonly [L, L];
  /** The rows of a node's store. */
  rowsOf(store: StoreType): R[];
  /** Where a row keeps a loader's samples. */
  samples(row: R, loader: L): ProtocolSample[];
  load(node: Node, row: R, loader: L, first: boolean): Promise<ProtocolSample>;
  /** With settings.slice, a row's loads run interleaved: a loader's load behind a gate. */
  gated?(node: Node, row: R, loader: L): GatedLoad;
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
          const samples = await pair(settings, pairing, node, row, order as [L, L]);
          for (const [i, loader] of order.entries()) {
            const s = samples[i] as ProtocolSample;
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

/** A row's two loads, interleaved when the settings and the pairing allow it, else in `order`. */
async function pair<R extends PairedRow, L>(
  settings: PairedSettings,
  pairing: Pairing<R, L>,
  node: Node,
  row: R,
  order: readonly [L, L],
): Promise<[ProtocolSample, ProtocolSample]> {
  if (settings.slice && pairing.gated) {
    return interleaved(node, settings.slice, [
      pairing.gated(node, row, order[0]),
      pairing.gated(node, row, order[1]),
    ]);
  }
  const a = await pairing.load(node, row, order[0], true);
  return [a, await pairing.load(node, row, order[1], false)];
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
