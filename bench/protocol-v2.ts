/**
 * `bun run bench -- --v2`: protocol version 2 against version 1 on the same
 * nodes (one on the memory store, one on a single Redis, both running
 * throughout), each scenario loaded in version 1 and 2 back to back, the
 * order flipping every round (bench/paired.ts). One op is one request in both versions (a 10-key KV_GET is
 * ten frames in version 1, one answer in version 2); keys/s beside it.
 */
import { readFileSync } from "node:fs";
import { consoleTable } from "./format.ts";
import { type LoadGate, type LoadResult, runLoad } from "./load.ts";
import { footer, measure, median, type Node, pairedRounds } from "./paired.ts";
import { loadAverage } from "./process.ts";
import { keysPerRequest, type Protocol } from "./requests.ts";
import {
  latest,
  type ProtocolRow,
  type ProtocolRun,
  type ProtocolSample,
  type ProtocolScenario,
  type ProtocolSettings,
} from "./results.ts";

/** What the issue asks of version 2: at least this share of version 1's throughput. */
export const V2_TARGET = 0.95;

/** The default scenarios: set and get at 64x32 and 1x1, a 10-key get at 64x32. */
export const V2_SCENARIOS = "set:64x32,get:64x32,get10:64x32,set:1x1,get:1x1";

const shapeText = (s: ProtocolScenario) => `${s.connections}x${s.window}`;
const mid = (samples: ProtocolSample[], f: (s: ProtocolSample) => number) => median(samples.map(f));
const meanOps = (samples: ProtocolSample[]) =>
  samples.reduce((n, s) => n + s.opsPerSecond, 0) / Math.max(1, samples.length);

const ROUND = consoleTable<[ProtocolRow, Protocol, ProtocolSample]>([
  ["store", -6, ([r]) => r.store],
  ["op", -5, ([r]) => r.op],
  ["shape", 5, ([r]) => shapeText(r)],
  ["v", 1, ([, v]) => v],
  ["ops/s", 8, ([, , s]) => Math.round(s.opsPerSecond)],
  ["keys/s", 8, ([, , s]) => Math.round(s.keysPerSecond)],
  ["p50µs", 7, ([, , s]) => s.latencyUs.p50],
  ["p99µs", 7, ([, , s]) => s.latencyUs.p99],
  ["errors", 6, ([, , s]) => s.errors],
  ["nodeµs", 6, ([, , s]) => s.cpu.nodeUsPerOp],
  ["redµs", 5, ([, , s]) => s.cpu.redisUsPerOp ?? ""],
  ["genµs", 5, ([, , s]) => s.cpu.generatorUsPerOp],
  ["others", 6, ([, , s]) => s.cpu.othersCores ?? ""],
]);

/**
 * v2's throughput over v1's across the whole run: the ratio of the mean
 * ops/s over the rounds, each round sending as long in either version. It
 * weighs every second alike, where a median of per-round ratios drops most of
 * them.
 */
export const pooledRatio = (row: ProtocolRow): number => {
  const v1 = meanOps(row.v1);
  return v1 > 0 ? meanOps(row.v2) / v1 : 0;
};

/** The ratios of the rounds in which other processes used less than `cores` during both loads. */
export function quietRatios(row: ProtocolRow, cores: number): number[] {
  const calm = (s: ProtocolSample | undefined) => (s?.cpu.othersCores ?? 0) < cores;
  return row.ratios.filter((_, i) => calm(row.v1[i]) && calm(row.v2[i]));
}

/** CPU per request of the node, Redis and the load generator together. */
const cpuPerRequest = (s: ProtocolSample) =>
  s.cpu.nodeUsPerOp + (s.cpu.redisUsPerOp ?? 0) + s.cpu.generatorUsPerOp;

/** Per round, the CPU a v2 request cost over a v1 request's: less noisy than ops/s. */
export const cpuRatios = (row: ProtocolRow): number[] =>
  row.v1.map((v1, i) => {
    const v2 = row.v2[i];
    return v2 === undefined ? 0 : cpuPerRequest(v2) / cpuPerRequest(v1);
  });

const summary = (cores: number) =>
  consoleTable<ProtocolRow>([
    ["store", -6, (r) => r.store],
    ["op", -5, (r) => r.op],
    ["shape", 5, (r) => shapeText(r)],
    ["v1 ops/s", 8, (r) => Math.round(meanOps(r.v1))],
    ["v2 ops/s", 8, (r) => Math.round(meanOps(r.v2))],
    ["v2/v1", 5, (r) => pooledRatio(r).toFixed(2)],
    ["rounds", 6, (r) => median(r.ratios).toFixed(2)],
    ["range", 9, (r) => `${Math.min(...r.ratios).toFixed(2)}-${Math.max(...r.ratios).toFixed(2)}`],
    [
      "quiet",
      7,
      (r) => {
        const q = quietRatios(r, cores);
        return q.length === 0 ? "0" : `${q.length}:${median(q).toFixed(2)}`;
      },
    ],
    ["v1 p99µs", 8, (r) => mid(r.v1, (s) => s.latencyUs.p99)],
    ["v2 p99µs", 8, (r) => mid(r.v2, (s) => s.latencyUs.p99)],
    ["v2 keys/s", 9, (r) => Math.round(mid(r.v2, (s) => s.keysPerSecond))],
    ["cpu v2/v1", 9, (r) => median(cpuRatios(r)).toFixed(2)],
    ["nodeµs v1", 9, (r) => mid(r.v1, (s) => s.cpu.nodeUsPerOp)],
    ["v2", 5, (r) => mid(r.v2, (s) => s.cpu.nodeUsPerOp)],
    ["genµs v1", 8, (r) => mid(r.v1, (s) => s.cpu.generatorUsPerOp)],
    ["v2", 5, (r) => mid(r.v2, (s) => s.cpu.generatorUsPerOp)],
    ["others", 6, (r) => median([...r.v1, ...r.v2].map((s) => s.cpu.othersCores ?? 0)).toFixed(2)],
    ["", -10, (r) => (pooledRatio(r) >= V2_TARGET ? "" : `< ${V2_TARGET}`)],
  ]);

/** One load of a scenario in one version, behind `gate` when given. */
function scenarioLoad(
  node: Node,
  scenario: ProtocolScenario,
  protocol: Protocol,
  settings: ProtocolSettings,
  onMeasure: () => void,
  gated?: { gate: LoadGate; onMeasured: () => void },
): Promise<LoadResult> {
  const { seconds, warmup, keys, valueSize } = settings;
  return runLoad({
    urls: [node.node.url],
    connections: scenario.connections,
    window: scenario.window,
    // Interleaved, each version sends half the time: as long in all as one load back to back.
    seconds: gated === undefined ? seconds : 2 * seconds,
    warmup,
    op: scenario.op,
    protocol,
    keys,
    valueSize,
    onMeasure,
    ...gated,
  });
}

export async function protocolV2(settings: ProtocolSettings): Promise<ProtocolRun> {
  const { seconds, warmup, keys, valueSize, rounds } = settings;
  console.log(
    `kvfleet bench --v2: ${rounds} rounds, ${seconds} s per load after ${warmup} s warm-up, ${keys} keys, ${valueSize}-byte values; each pair after up to ${settings.quiet.seconds} s waiting for the machine to use < ${settings.quiet.cores} cores; load average ${loadAverage().join(" ")}`,
  );
  const ran = await pairedRounds<ProtocolRow, Protocol>(settings, {
    // Version 1 first in even rounds, version 2 first in odd ones.
    loaders: [1, 2],
    rowsOf: (store) =>
      settings.scenarios.map((scenario) => ({
        store,
        ...scenario,
        keysPerRequest: keysPerRequest(scenario.op),
        v1: [],
        v2: [],
        ratios: [],
        busyBefore: [],
      })),
    samples: (row, protocol) => (protocol === 1 ? row.v1 : row.v2),
    load: (node, row, protocol, first) =>
      measure(node, first, (onMeasure) => scenarioLoad(node, row, protocol, settings, onMeasure)),
    gated: (node, row, protocol) => (gate, onMeasure, onMeasured) =>
      scenarioLoad(node, row, protocol, settings, onMeasure, { gate, onMeasured }),
    header: ROUND.header,
    line: (row, protocol, s) => ROUND.line([row, protocol, s]),
  });
  const run: ProtocolRun = { ...ran, settings };
  printSummary(run);
  return run;
}

/** The summary table of a run, and its errors, duration and load. */
export function printSummary(run: ProtocolRun): void {
  const { rows, settings } = run;
  const table = summary(settings.quiet.cores);
  console.log(
    `\n${settings.slice ? `each round loads v1 and v2 interleaved, swapping every ${settings.slice} s` : "each round loads v1 and v2 back to back"}; ops/s are means over ${settings.rounds} rounds, the rest medians; v2/v1 is the ratio of those means (the whole run's throughput), rounds the median of each round's ratio, range its lowest and highest, quiet n:median over the rounds in which other processes used < ${settings.quiet.cores} cores during both loads; cpu v2/v1: median per round of node + Redis + generator CPU per request; µs are CPU per request; others: cores used by other processes\n${table.header}`,
  );
  for (const row of rows) console.log(table.line(row));
  console.log(
    footer(
      run,
      rows.flatMap((r) => [...r.v1, ...r.v2]),
    ),
  );
}

// `bun bench/protocol-v2.ts [file]`: the summary of a saved run, the latest by default.
if (import.meta.main) {
  const file = process.argv[2];
  const found = file
    ? { data: JSON.parse(readFileSync(file, "utf8")) as ProtocolRun }
    : latest("v2");
  if (found === undefined) {
    console.error("no -v2.json run in bench/results/: run `bun run bench -- --v2` first");
    process.exit(1);
  }
  printSummary(found.data);
}
