/** The Targets section: the matrix's figures against the goals of the design. */
import { type MatrixRow, transportOf } from "../results.ts";
import { ratioTo } from "./matrix.ts";
import { count, r2, shapeOf } from "./text.ts";

interface Target {
  name: string;
  measured: string;
  met: boolean;
  /** Transport node CPU per request ÷ this scenario's node (+ Redis) CPU per request. */
  cpu?: string;
}

/** How much more CPU per request than the transport ceiling a row costs (node, plus Redis if any). */
function cpuRatio(rows: MatrixRow[], row: MatrixRow): string {
  const base = transportOf(rows, row)?.cpu?.nodeUsPerOp;
  const own = row.cpu ? row.cpu.nodeUsPerOp + (row.cpu.redisUsPerOp ?? 0) : undefined;
  return base && own ? `${r2(base / own)} (${base} ÷ ${Math.round(own * 10) / 10} µs)` : "–";
}

export function targets(rows: MatrixRow[]): Target[] {
  const find = (target: string, nodes: number, op: string, s: string) =>
    rows.find((r) => r.target === target && r.nodes === nodes && r.op === op && shapeOf(r) === s);
  const out: Target[] = [];
  for (const s of ["64x1", "64x32"]) {
    for (const op of ["set", "get", "mixed"]) {
      const row = find("memory", 1, op, s);
      if (!row) continue;
      const ratio = ratioTo(rows, row, "transport") ?? 0;
      out.push({
        name: `memory store, ${s} ${op}: ≥ 0.85 of transport`,
        measured: r2(ratio),
        met: ratio >= 0.85,
        cpu: cpuRatio(rows, row),
      });
    }
  }
  for (const [op, min] of [
    ["get", 0.7],
    ["set", 0.6],
  ] as const) {
    const row = find("redis", 1, op, "64x32");
    if (!row) continue;
    const ratio = ratioTo(rows, row, "transport") ?? 0;
    out.push({
      name: `Redis store, 64x32 ${op}: ≥ ${min} of transport`,
      measured: r2(ratio),
      met: ratio >= min,
      cpu: cpuRatio(rows, row),
    });
  }
  for (const op of ["set", "get", "mixed"]) {
    const row = find("memory", 1, op, "1x1");
    if (!row) continue;
    out.push({
      name: `memory store, 1x1 ${op}: p99 < 300 µs`,
      measured: `${row.latencyUs.p99} µs`,
      met: row.latencyUs.p99 < 300,
    });
  }
  for (const s of ["64x1", "64x32"]) {
    for (const op of ["set", "get", "mixed"]) {
      const one = find("redis", 1, op, s);
      const two = find("redis", 2, op, s);
      if (!one || !two) continue;
      const ratio = two.opsPerSecond / one.opsPerSecond;
      const cost = (r: MatrixRow) =>
        r.cpu ? `${r.cpu.nodeUsPerOp} + ${r.cpu.redisUsPerOp ?? 0}` : "?";
      out.push({
        name: `2 nodes on one Redis ≥ 1 node, ${s} ${op}`,
        measured: `${count(two.opsPerSecond)} vs ${count(one.opsPerSecond)} (${r2(ratio)})`,
        met: ratio >= 1,
        cpu: `node + Redis µs per request: 2 nodes ${cost(two)}, 1 node ${cost(one)}`,
      });
    }
  }
  return out;
}

export function targetsSection(goals: Target[]): string {
  return [
    "| target | measured | | CPU per request: transport ÷ this |",
    "|---|---|---|---|",
    ...goals.map(
      (g) => `| ${g.name} | ${g.measured} | ${g.met ? "met" : "**not met**"} | ${g.cpu ?? ""} |`,
    ),
    "",
    "The last column is the steadier figure: the transport server's CPU per request divided by",
    "the node's (plus Redis's, for the Redis store), both measured from /proc/<pid>/stat while",
    "the generator runs. Throughput ratios swing with whatever else runs on the two cores; CPU",
    "per request barely does.",
    "",
    `${goals.filter((g) => g.met).length} of ${goals.length} met in this run. Ratios come from one run on a shared, noisy 2-core machine; differences of ±10 % between runs are common.`,
  ].join("\n");
}
