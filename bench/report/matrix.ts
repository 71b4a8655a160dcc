/** The matrix's sections of the report: how it is measured, its table, charts and Redis detail. */
import {
  MATRIX_TARGETS,
  type MatrixRow,
  type MatrixRun,
  redisOf,
  transportOf,
} from "../results.ts";
import { type BarGroup, barChart, rangeChart } from "./svg.ts";
import { count, machineLine, r2, shapeOf } from "./text.ts";

const COLORS: Record<MatrixRow["target"], string> = {
  transport: "#9e9e9e",
  memory: "#2e7d32",
  redis: "#c62828",
  "redis-cluster": "#ef6c00",
  "redis-benchmark": "#1565c0",
};

export function ratioTo(
  rows: MatrixRow[],
  row: MatrixRow,
  of: "transport" | "redis",
): number | undefined {
  const base = of === "transport" ? transportOf(rows, row) : redisOf(rows, row);
  return base && base.opsPerSecond > 0 ? row.opsPerSecond / base.opsPerSecond : undefined;
}

function scenarioTable(rows: MatrixRow[]): string {
  const lines = [
    "| target | nodes | shape | op | ops/s | p50 µs | p99 µs | p99.9 µs | errors | ÷ transport | ÷ redis-benchmark | node CPU µs/op | Redis CPU µs/op | generator cores |",
    "|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  const sorted = [...rows].sort(
    (a, b) =>
      a.connections * a.window - b.connections * b.window ||
      a.connections - b.connections ||
      a.op.localeCompare(b.op) ||
      a.nodes - b.nodes ||
      MATRIX_TARGETS.indexOf(a.target) - MATRIX_TARGETS.indexOf(b.target),
  );
  for (const row of sorted) {
    const l = row.latencyUs;
    const isBm = row.target === "redis-benchmark";
    lines.push(
      `| ${row.target} | ${row.nodes} | ${shapeOf(row)} | ${row.op} | ${count(row.opsPerSecond)} | ${l.p50} | ${l.p99} | ${isBm ? "–" : l.p999} | ${isBm ? "–" : row.errors} | ${row.target === "transport" ? "1.00" : r2(ratioTo(rows, row, "transport"))} | ${row.target === "redis" ? r2(ratioTo(rows, row, "redis")) : ""} | ${isBm ? "" : (row.cpu?.nodeUsPerOp ?? "")} | ${row.cpu?.redisUsPerOp ?? ""} | ${isBm ? "" : (row.cpu?.generatorCores ?? "")} |`,
    );
  }
  return lines.join("\n");
}

export function throughputChart(rows: MatrixRow[]): string {
  const groups: BarGroup[] = [];
  for (const s of ["1x1", "64x1", "64x32"]) {
    for (const op of ["set", "get", "mixed"]) {
      const bars = rows
        .filter((r) => shapeOf(r) === s && r.op === op)
        .sort((a, b) => a.nodes - b.nodes)
        .map((r) => {
          const ratio =
            r.target === "memory" || r.target === "redis" || r.target === "redis-cluster"
              ? ratioTo(rows, r, "transport")
              : undefined;
          return {
            label: `${r.target}${r.target === "redis-benchmark" ? "" : ` ×${r.nodes}`}`,
            value: r.opsPerSecond,
            color: COLORS[r.target],
            note: ratio === undefined ? "" : `(${ratio.toFixed(2)} of transport)`,
          };
        });
      if (bars.length > 0) groups.push({ title: `${s} ${op}`, bars });
    }
  }
  return barChart(
    "Throughput per scenario beside the ceilings (connections x window, op)",
    "ops/s",
    groups,
    Object.entries(COLORS).map(([label, color]) => ({ label, color, value: 0 })),
  );
}

export function latencyChart(rows: MatrixRow[]): string {
  const selected = rows
    .filter((r) => r.target !== "redis-benchmark")
    .sort(
      (a, b) =>
        a.connections * a.window - b.connections * b.window ||
        a.op.localeCompare(b.op) ||
        a.nodes - b.nodes ||
        a.target.localeCompare(b.target),
    );
  return rangeChart(
    "Round-trip latency percentiles (load generator to node and back)",
    "µs",
    ["p50", "p99", "p99.9"],
    ["#2e7d32", "#ef6c00", "#c62828"],
    selected.map((r) => ({
      label: `${shapeOf(r)} ${r.op} ${r.target} ×${r.nodes}`,
      values: [r.latencyUs.p50, r.latencyUs.p99, r.latencyUs.p999],
    })),
  );
}

function redisDetail(rows: MatrixRow[]): string {
  const lines = [
    "| shape | Redis command | ops/s | p50 ms | p99 ms | Redis CPU µs/op |",
    "|---|---|--:|--:|--:|--:|",
  ];
  const seen = new Set<string>();
  for (const row of rows.filter((r) => r.target === "redis-benchmark")) {
    for (const d of row.detail ?? []) {
      const k = `${shapeOf(row)} ${d.command}`;
      if (seen.has(k)) continue;
      seen.add(k);
      lines.push(
        `| ${shapeOf(row)} | \`${d.command}\` | ${count(d.rps)} | ${d.p50ms} | ${d.p99ms} | ${d.redisUsPerOp ?? ""} |`,
      );
    }
  }
  return lines.join("\n");
}

/** "How it is measured": the method, with this run's settings. */
export function methodSection({ settings: s }: MatrixRun): string {
  return [
    "- **Load generator** (`bench/load.ts`, usable on its own: `bun bench/load.ts --help`): Bun",
    "  WebSocket clients, each keeping a window of requests in flight; requests are prebuilt",
    "  strings on random keys, each in-flight slot keeps its message index and send time in typed",
    "  arrays, every response's command and status are checked, and round-trip latency goes into",
    "  an HDR histogram (`hdr-histogram-js`, µs, 3 significant digits). It runs in the",
    "  orchestrator's process; every server is a child process.",
    `- **Scenarios**: ${s.seconds} s measured after ${s.warmup} s warm-up each, ${count(s.keys)} keys (filled before), ${s.valueSize}-byte values (\`{"v":"xxx…"}\`).`,
    "  Shapes are connections x window (requests in flight per connection); with two nodes the",
    "  connections alternate between them (1x1 is not run on two nodes). `mixed` is",
    `  ${s.mixed.map(([n, share]) => `${Math.round(share * 100)} % ${n}`).join(", ")}`,
    "  (the append adds a member the value already has, so values keep their size).",
    "  The transport server, the memory node(s) and the Redis node(s) run side by side, and",
    "  each scenario loads them one right after the other, so every ratio compares figures",
    "  taken seconds apart (the machine's speed drifts over minutes).",
    "- **Transport ceiling** (`bench/transport-server.ts`): a bare `Bun.serve` WebSocket server",
    "  that parses each request with kvfleet's `parseMessage` and answers a fixed response of the",
    "  same shape (the found value for a get), no store, no metrics, no ordering queue; a child",
    "  process like a node, loaded by the same generator with the same settings.",
    "- **Redis ceiling**: `redis-benchmark` at the same connections and pipeline depth issuing the",
    "  commands kvfleet issues while nobody watches: `SET … GET` (set), `GET` (get), `SET … NX`",
    "  (add), `DEL` (rmv), `EVALSHA` of the append script (append), on the same key space and",
    "  value size. The mixed ceiling combines the single-command rates by the mix",
    "  (1 / Σ share ÷ rate). redis-benchmark is a C client, so this is Redis's own ceiling on",
    "  this machine, not the cost of a JavaScript client.",
    "- All processes share the machine's cores: the generator, the node(s) and Redis compete for",
    "  them, as the targets assume.",
  ].join("\n");
}

/** The matrix: machine, throughput chart, table, latency chart and the Redis commands alone. */
export function matrixSection({ machine, rows }: MatrixRun): string {
  return [
    machineLine(machine),
    "",
    "![throughput](benchmarks/throughput.svg)",
    "",
    scenarioTable(rows),
    "",
    "Latency columns of redis-benchmark rows are its own (ms converted to µs; p99.9 not reported).",
    "",
    "![latency](benchmarks/latency.svg)",
    "",
    "### Redis commands alone (redis-benchmark)",
    "",
    redisDetail(rows),
  ].join("\n");
}
