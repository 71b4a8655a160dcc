/**
 * `bun run bench -- --client`: what the client library costs. On the same
 * node, in the same run, each op is loaded back to back by the raw load
 * generator (bench/load.ts: one connection, protocol 2, `inFlight` prebuilt
 * requests in flight) and by `kvfleet-client` (bench/client-load.ts: one
 * connection, `inFlight` calls in flight), the order flipping every round as
 * in bench/protocol-v2.ts, so machine noise touches both alike.
 */
import { readFileSync } from "node:fs";
import { runClientLoad } from "./client-load.ts";
import { consoleTable } from "./format.ts";
import { runLoad } from "./load.ts";
import { loadAverage, machineInfo, waitQuiet, withRedis } from "./process.ts";
import { measure, median, type Node, startNodes } from "./protocol-v2.ts";
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

const mid = (samples: ProtocolSample[], f: (s: ProtocolSample) => number) => median(samples.map(f));

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
  const machine = machineInfo();
  const started = new Date();
  console.log(
    `kvfleet bench --client: ${rounds} rounds, ${inFlight} in flight on one connection, ${seconds} s per load after ${warmup} s warm-up, ${keys} keys, ${valueSize}-byte values; load average ${machine.loadavgBefore.join(" ")}`,
  );
  const rows: ClientRow[] = [];
  await withRedis(async (redis) => {
    const nodes = await startNodes(redis, settings);
    try {
      for (const { store } of nodes)
        for (const op of settings.ops)
          rows.push({ store, op, raw: [], client: [], ratios: [], busyBefore: [] });
      console.log(ROUND.header);
      for (let round = 0; round < rounds; round++) {
        const order: Loader[] = round % 2 === 0 ? ["raw", "client"] : ["client", "raw"];
        for (const row of rows) {
          const node = nodes.find((n) => n.store === row.store) as Node;
          row.busyBefore.push(await waitQuiet(settings.quiet.cores, settings.quiet.seconds));
          for (const loader of order) {
            const s = await load(loader, node, row.op, loader === order[0], settings);
            row[loader].push(s);
            console.log(ROUND.line([row, loader, s]));
          }
          const raw = row.raw.at(-1) as ProtocolSample;
          const client = row.client.at(-1) as ProtocolSample;
          row.ratios.push(raw.opsPerSecond > 0 ? client.opsPerSecond / raw.opsPerSecond : 0);
        }
      }
    } finally {
      await Promise.all(nodes.map((n) => n.node.stop()));
    }
  });
  machine.loadavgAfter = loadAverage();
  const run: ClientRun = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    machine,
    settings,
    rows,
  };
  printSummary(run);
  return run;
}

export function printSummary(run: ClientRun): void {
  const { rows, settings, machine } = run;
  console.log(
    `\nmedians over ${settings.rounds} rounds, ${settings.inFlight} in flight; client/raw is the median of each round's ratio, range its lowest and highest; µs are CPU per request (gen: this process, the generator or the client); others: cores used by other processes\n${SUMMARY.header}`,
  );
  for (const row of rows) console.log(SUMMARY.line(row));
  const errors = rows.reduce(
    (sum, r) => sum + [...r.raw, ...r.client].reduce((n, s) => n + s.errors, 0),
    0,
  );
  const seconds = Math.round((Date.parse(run.finished) - Date.parse(run.started)) / 1000);
  console.log(
    `\n${errors} errors; ${seconds} s from ${run.started}; load average before ${machine.loadavgBefore.join(" ")}, after ${machine.loadavgAfter?.join(" ")}`,
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
