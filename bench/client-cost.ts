/**
 * `bun run bench -- --client`: what the client library costs. On the same
 * node, in the same run, each op is loaded back to back by the raw load
 * generator (bench/load.ts: one connection, protocol 2, `inFlight` prebuilt
 * requests in flight) and by `kvfleet-client` (bench/client-load.ts: one
 * connection, `inFlight` calls in flight), the order flipping every round
 * (bench/paired.ts).
 */
import { readFileSync } from "node:fs";
import { runClientLoad } from "./client-load.ts";
import { consoleTable } from "./format.ts";
import { runLoad } from "./load.ts";
import { footer, measure, median, type Node, pairedRounds } from "./paired.ts";
import { loadAverage } from "./process.ts";
import {
  type ClientRow,
  type ClientRun,
  type ClientSettings,
  latest,
  type ProtocolSample,
} from "./results.ts";

/** What the issue asks of the client: at least this share of the raw generator's throughput. */
export const CLIENT_TARGET = 0.85;

type Loader = "raw" | "client";

const ROUND = consoleTable<[ClientRow, Loader, ProtocolSample]>([
  ["store", -6, ([r]) => r.store],
  ["op", -4, ([r]) => r.op],
  ["loader", -6, ([, l]) => l],
  ["ops/s", 8, ([, , s]) => Math.round(s.opsPerSecond)],
  ["p50µs", 7, ([, , s]) => s.latencyUs.p50],
  ["p99µs", 7, ([, , s]) => s.latencyUs.p99],
  ["errors", 6, ([, , s]) => s.errors],
  ["nodeµs", 6, ([, , s]) => s.cpu.nodeUsPerOp],
  ["genµs", 6, ([, , s]) => s.cpu.generatorUsPerOp],
  ["gen", 5, ([, , s]) => s.cpu.generatorCores],
  ["others", 6, ([, , s]) => s.cpu.othersCores ?? ""],
]);

const mid = (samples: ProtocolSample[], f: (s: ProtocolSample) => number) =>
  Math.round(median(samples.map(f)) * 10) / 10;

const SUMMARY = consoleTable<ClientRow>([
  ["store", -6, (r) => r.store],
  ["op", -4, (r) => r.op],
  ["raw ops/s", 9, (r) => Math.round(mid(r.raw, (s) => s.opsPerSecond))],
  ["client", 8, (r) => Math.round(mid(r.client, (s) => s.opsPerSecond))],
  ["client/raw", 10, (r) => median(r.ratios).toFixed(2)],
  ["range", 9, (r) => `${Math.min(...r.ratios).toFixed(2)}-${Math.max(...r.ratios).toFixed(2)}`],
  ["raw p99µs", 9, (r) => mid(r.raw, (s) => s.latencyUs.p99)],
  ["client", 7, (r) => mid(r.client, (s) => s.latencyUs.p99)],
  ["raw genµs", 9, (r) => mid(r.raw, (s) => s.cpu.generatorUsPerOp)],
  ["client", 6, (r) => mid(r.client, (s) => s.cpu.generatorUsPerOp)],
  ["nodeµs raw", 10, (r) => mid(r.raw, (s) => s.cpu.nodeUsPerOp)],
  ["client", 6, (r) => mid(r.client, (s) => s.cpu.nodeUsPerOp)],
  [
    "others",
    6,
    (r) => median([...r.raw, ...r.client].map((s) => s.cpu.othersCores ?? 0)).toFixed(2),
  ],
  ["", -7, (r) => (median(r.ratios) >= CLIENT_TARGET ? "" : `< ${CLIENT_TARGET}`)],
]);

function load(loader: Loader, node: Node, op: "set" | "get", first: boolean, s: ClientSettings) {
  const { seconds, warmup, keys, valueSize, inFlight } = s;
  const url = node.node.url;
  return measure(node, first, (onMeasure) =>
    loader === "raw"
      ? runLoad({
          urls: [url],
          connections: 1,
          window: inFlight,
          protocol: 2,
          op,
          seconds,
          warmup,
          keys,
          valueSize,
          onMeasure,
        })
      : runClientLoad({ url, inFlight, op, seconds, warmup, keys, valueSize, onMeasure }),
  );
}

export async function clientCost(settings: ClientSettings): Promise<ClientRun> {
  const { seconds, warmup, keys, valueSize, rounds, inFlight } = settings;
  console.log(
    `kvfleet bench --client: ${rounds} rounds, ${inFlight} in flight on one connection, ${seconds} s per load after ${warmup} s warm-up, ${keys} keys, ${valueSize}-byte values; load average ${loadAverage().join(" ")}`,
  );
  const ran = await pairedRounds<ClientRow, Loader>(settings, {
    loaders: ["raw", "client"],
    rowsOf: (store) =>
      settings.ops.map((op) => ({ store, op, raw: [], client: [], ratios: [], busyBefore: [] })),
    samples: (row, loader) => row[loader],
    load: (node, row, loader, first) => load(loader, node, row.op, first, settings),
    header: ROUND.header,
    line: (row, loader, s) => ROUND.line([row, loader, s]),
  });
  const run: ClientRun = { ...ran, settings };
  printSummary(run);
  return run;
}

export function printSummary(run: ClientRun): void {
  const { rows, settings } = run;
  console.log(
    `\nmedians over ${settings.rounds} rounds, ${settings.inFlight} in flight; client/raw is the median of each round's ratio, range its lowest and highest; µs are CPU per request (gen: this process, the generator or the client); others: cores used by other processes\n${SUMMARY.header}`,
  );
  for (const row of rows) console.log(SUMMARY.line(row));
  console.log(
    footer(
      run,
      rows.flatMap((r) => [...r.raw, ...r.client]),
    ),
  );
}

// `bun bench/client-cost.ts [file]`: the summary of a saved run, the latest by default.
if (import.meta.main) {
  const file = process.argv[2];
  const found = file
    ? { data: JSON.parse(readFileSync(file, "utf8")) as ClientRun }
    : latest("client");
  if (found === undefined) {
    console.error("no -client.json run in bench/results/: run `bun run bench -- --client` first");
    process.exit(1);
  }
  printSummary(found.data);
}
