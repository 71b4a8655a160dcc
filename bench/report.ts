/**
 * `bun run bench:report`: turns the latest results in bench/results/ (the
 * matrix, and the memory, soak, profile and slow-reader runs when there are some) into
 * docs/benchmarks.md with SVG charts in docs/benchmarks/. The hand-written
 * explanations in bench/notes.md are included as they are.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IntervalSample, LoadResult } from "./load.ts";
import type { RedisBenchmark } from "./process.ts";
import { latest, type MachineInfo, type Row, redisOf, transportOf } from "./run.ts";
import {
  endText,
  meetsTarget,
  SLOW_READER_TARGET,
  type SlowReaderScenario,
  type SlowReaderSettings,
} from "./slow-reader.ts";
import { type BarGroup, barChart, linePanels, rangeChart } from "./svg.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DOCS = join(ROOT, "docs");
const CHARTS = join(DOCS, "benchmarks");

interface Matrix {
  started: string;
  finished: string;
  machine: MachineInfo;
  settings: {
    seconds: number;
    warmup: number;
    keys: number;
    valueSize: number;
    mixed: [string, number][];
  };
  rows: Row[];
}

interface MemoryRun {
  date: string;
  machine: MachineInfo;
  settings: { keys: number; valueSize: number; keyBytes: number; rawBytes: number };
  memory: {
    keys: number;
    rssBefore: number;
    rssAfter: number;
    bytesPerKey: number;
    loadSeconds: number;
  };
  redis: {
    keys: number;
    usedMemoryBefore: number;
    usedMemoryAfter: number;
    bytesPerKey: number;
    redisRssBefore: number;
    redisRssAfter: number;
    nodeRss: number;
    loadSeconds: number;
  };
}

interface SoakRun {
  started: string;
  finished: string;
  machine: MachineInfo;
  settings: {
    seconds: number;
    store: string;
    connections: number;
    window: number;
    windowSeconds: number;
    keys: number;
    valueSize: number;
  };
  total: LoadResult;
  windows: (IntervalSample & { rssBytes: number; redisUsedMemory?: number })[];
  rss: { t: number; rssBytes: number }[];
}

interface ProfileRun {
  date: string;
  settings: { seconds: number };
  profiles: Record<
    string,
    { loads: Record<string, number>; top: { name: string; where: string; percent: number }[] }
  >;
}

interface SlowReaderRun {
  started: string;
  finished: string;
  machine: MachineInfo;
  settings: SlowReaderSettings;
  scenarios: SlowReaderScenario[];
}

const COLORS: Record<string, string> = {
  transport: "#9e9e9e",
  memory: "#2e7d32",
  redis: "#c62828",
  "redis-benchmark": "#1565c0",
};

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const r2 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(2));
const shape = (r: Row) => `${r.connections}x${r.window}`;

function machineLine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}; Bun ${m.bun}, Redis ${m.redis}. Load average before ${m.loadavgBefore.join(" / ")}${m.loadavgAfter ? `, after ${m.loadavgAfter.join(" / ")}` : ""}.`;
}

function ratioTo(rows: Row[], row: Row, of: "transport" | "redis"): number | undefined {
  const base = of === "transport" ? transportOf(rows, row) : redisOf(rows, row);
  return base && base.opsPerSecond > 0 ? row.opsPerSecond / base.opsPerSecond : undefined;
}

function scenarioTable(rows: Row[]): string {
  const lines = [
    "| target | nodes | shape | op | ops/s | p50 µs | p99 µs | p99.9 µs | errors | ÷ transport | ÷ redis-benchmark | node CPU µs/op | Redis CPU µs/op | generator cores |",
    "|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  const order = ["transport", "memory", "redis", "redis-benchmark"];
  const sorted = [...rows].sort(
    (a, b) =>
      a.connections * a.window - b.connections * b.window ||
      a.connections - b.connections ||
      a.op.localeCompare(b.op) ||
      a.nodes - b.nodes ||
      order.indexOf(a.target) - order.indexOf(b.target),
  );
  for (const row of sorted) {
    const l = row.latencyUs;
    const isBm = row.target === "redis-benchmark";
    lines.push(
      `| ${row.target} | ${row.nodes} | ${shape(row)} | ${row.op} | ${fmt(row.opsPerSecond)} | ${l.p50} | ${l.p99} | ${isBm ? "–" : l.p999} | ${isBm ? "–" : row.errors} | ${row.target === "transport" ? "1.00" : r2(ratioTo(rows, row, "transport"))} | ${row.target === "redis" ? r2(ratioTo(rows, row, "redis")) : ""} | ${isBm ? "" : (row.cpu?.nodeUsPerOp ?? "")} | ${row.cpu?.redisUsPerOp ?? ""} | ${isBm ? "" : (row.cpu?.generatorCores ?? "")} |`,
    );
  }
  return lines.join("\n");
}

interface Target {
  name: string;
  measured: string;
  met: boolean;
  /** Transport node CPU per request ÷ this scenario's node (+ Redis) CPU per request. */
  cpu?: string;
}

/** How much more CPU per request than the transport ceiling a row costs (node, plus Redis if any). */
function cpuRatio(rows: Row[], row: Row): string {
  const base = transportOf(rows, row)?.cpu?.nodeUsPerOp;
  const own = row.cpu ? row.cpu.nodeUsPerOp + (row.cpu.redisUsPerOp ?? 0) : undefined;
  return base && own ? `${r2(base / own)} (${base} ÷ ${Math.round(own * 10) / 10} µs)` : "–";
}

function targets(rows: Row[]): Target[] {
  const find = (target: string, nodes: number, op: string, s: string) =>
    rows.find((r) => r.target === target && r.nodes === nodes && r.op === op && shape(r) === s);
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
      const cost = (r: Row) => (r.cpu ? `${r.cpu.nodeUsPerOp} + ${r.cpu.redisUsPerOp ?? 0}` : "?");
      out.push({
        name: `2 nodes on one Redis ≥ 1 node, ${s} ${op}`,
        measured: `${fmt(two.opsPerSecond)} vs ${fmt(one.opsPerSecond)} (${r2(ratio)})`,
        met: ratio >= 1,
        cpu: `node + Redis µs per request: 2 nodes ${cost(two)}, 1 node ${cost(one)}`,
      });
    }
  }
  return out;
}

function throughputChart(rows: Row[]): string {
  const groups: BarGroup[] = [];
  for (const s of ["1x1", "64x1", "64x32"]) {
    for (const op of ["set", "get", "mixed"]) {
      const bars = rows
        .filter((r) => shape(r) === s && r.op === op)
        .sort((a, b) => a.nodes - b.nodes)
        .map((r) => {
          const ratio =
            r.target === "memory" || r.target === "redis"
              ? ratioTo(rows, r, "transport")
              : undefined;
          return {
            label: `${r.target}${r.target === "redis-benchmark" ? "" : ` ×${r.nodes}`}`,
            value: r.opsPerSecond,
            color: COLORS[r.target] ?? "#000",
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

function latencyChart(rows: Row[]): string {
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
      label: `${shape(r)} ${r.op} ${r.target} ×${r.nodes}`,
      values: [r.latencyUs.p50, r.latencyUs.p99, r.latencyUs.p999],
    })),
  );
}

function soakChart(soak: SoakRun): string {
  const w = soak.windows;
  return linePanels(
    `Soak: ${soak.settings.store} store, ${soak.settings.connections}x${soak.settings.window} mixed, ${soak.settings.seconds} s`,
    "seconds",
    [
      {
        unit: `throughput per ${soak.settings.windowSeconds}-second window (ops/s)`,
        series: [{ name: "ops/s", color: "#1565c0", points: w.map((s) => [s.t, s.opsPerSecond]) }],
      },
      {
        unit: "latency per window (µs)",
        series: [
          { name: "p50", color: "#2e7d32", points: w.map((s) => [s.t, s.latencyUs.p50]) },
          { name: "p99", color: "#ef6c00", points: w.map((s) => [s.t, s.latencyUs.p99]) },
        ],
      },
      {
        unit: "memory (MiB)",
        series: [
          {
            name: "node RSS (VmRSS, every second)",
            color: "#c62828",
            points: soak.rss.map((s) => [s.t, s.rssBytes / 2 ** 20]),
          },
          ...(w.some((s) => s.redisUsedMemory)
            ? [
                {
                  name: "Redis used_memory",
                  color: "#6a1b9a",
                  points: w
                    .filter((s) => s.redisUsedMemory)
                    .map((s) => [s.t, (s.redisUsedMemory as number) / 2 ** 20] as [number, number]),
                },
              ]
            : []),
        ],
      },
    ],
  );
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function soakSection(soak: SoakRun): string {
  const w = soak.windows;
  const rates = w.map((s) => s.opsPerSecond);
  const half = Math.floor(w.length / 2);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const firstHalf = mean(rates.slice(0, half));
  const secondHalf = mean(rates.slice(half));
  const rss = soak.rss.filter((s) => s.t >= 0);
  const late = rss.filter((s) => s.t >= soak.settings.seconds / 2);
  const rssSlope = slope(late.map((s) => [s.t, s.rssBytes / 2 ** 20]));
  const rssValues = rss.map((s) => s.rssBytes);
  return [
    `Run ${soak.started} to ${soak.finished}: ${soak.settings.store} store, one node, ${soak.settings.connections}x${soak.settings.window} mixed on ${soak.settings.keys} keys of ${soak.settings.valueSize}-byte values, ${soak.settings.seconds} s after a warm-up. ${machineLine(soak.machine)}`,
    "",
    "![soak](benchmarks/soak.svg)",
    "",
    `- Overall ${fmt(soak.total.opsPerSecond)} ops/s, ${fmt(soak.total.ops)} answers, ${soak.total.errors} errors; latency p50 ${soak.total.latencyUs.p50} µs, p99 ${soak.total.latencyUs.p99} µs, p99.9 ${soak.total.latencyUs.p999} µs.`,
    `- Throughput per window: min ${fmt(Math.min(...rates))}, max ${fmt(Math.max(...rates))}; mean of the first half ${fmt(firstHalf)}, of the second half ${fmt(secondHalf)} (${((secondHalf / firstHalf - 1) * 100).toFixed(1)} %).`,
    `- Node RSS: ${mib(soak.rss[0]?.rssBytes ?? 0)} MiB idle with the keys loaded, ${mib(Math.min(...rssValues))} to ${mib(Math.max(...rssValues))} MiB under load, ${mib(rss.at(-1)?.rssBytes ?? 0)} MiB at the end; trend over the second half ${(rssSlope * 60).toFixed(2)} MiB per minute.`,
  ].join("\n");
}

function memorySection(m: MemoryRun): string {
  const raw = m.settings.rawBytes / m.settings.keys;
  return [
    `${fmt(m.settings.keys)} keys \`key:0\` … \`key:${m.settings.keys - 1}\` (${(m.settings.keyBytes / m.settings.keys).toFixed(1)} bytes on average) with ${m.settings.valueSize}-byte JSON values, so ${raw.toFixed(1)} bytes of raw data per key (${mib(m.settings.rawBytes)} MiB in all), loaded with KV_SETQ, 100 keys per message. Measured ${m.date}.`,
    "",
    "| store | measure | before | after | per key | ÷ raw data | load time |",
    "|---|---|--:|--:|--:|--:|--:|",
    `| memory (one node) | node VmRSS | ${mib(m.memory.rssBefore)} MiB | ${mib(m.memory.rssAfter)} MiB | ${m.memory.bytesPerKey.toFixed(0)} B | ${(m.memory.bytesPerKey / raw).toFixed(2)} | ${m.memory.loadSeconds.toFixed(1)} s |`,
    `| Redis | \`used_memory\` | ${mib(m.redis.usedMemoryBefore)} MiB | ${mib(m.redis.usedMemoryAfter)} MiB | ${m.redis.bytesPerKey.toFixed(0)} B | ${(m.redis.bytesPerKey / raw).toFixed(2)} | ${m.redis.loadSeconds.toFixed(1)} s through a node |`,
    "",
    `Redis \`used_memory_rss\` went from ${mib(m.redis.redisRssBefore)} to ${mib(m.redis.redisRssAfter)} MiB; the node in front of it held ${mib(m.redis.nodeRss)} MiB RSS after the load (it keeps no data). The memory node's RSS is read 3 s after the load without forcing a garbage collection, so it includes whatever garbage the load left.`,
  ].join("\n");
}

function profileSection(p: ProfileRun): string {
  const parts: string[] = [
    `\`bun run bench -- --profile\` (${p.date}) runs one node under \`bun --cpu-prof\` per store and loads it at 64x32 with set, then get, for ${p.settings.seconds} s each. Self time per function, top 12 (the load generator runs in another process and is not in these profiles):`,
  ];
  for (const [store, prof] of Object.entries(p.profiles)) {
    parts.push(
      "",
      `**${store} store** (${Object.entries(prof.loads)
        .map(([op, n]) => `${op} ${fmt(n)} ops/s`)
        .join(", ")} while profiled)`,
      "",
      "| self % | function | where |",
      "|--:|---|---|",
      ...prof.top
        .slice(0, 12)
        .map((f) => `| ${f.percent.toFixed(1)} | \`${f.name}\` | ${f.where || "(native)"} |`),
    );
  }
  return parts.join("\n");
}

export function slowReaderSection(run: SlowReaderRun): string {
  const s = run.settings;
  const ms = (us: number) => (us / 1000).toFixed(1);
  const lines = [
    `\`bun run bench -- --slow-reader\` (${run.started}): per store and value size, a fresh node with one key holding a value of that size (\`{"v":"xxx…"}\`). A raw TCP WebSocket client pipelines ${fmt(s.requests)} \`{"KV_GET":["key:0"]}\` in one write and reads nothing (its socket is paused, so its receive window fills and the node has to hold the answers); meanwhile a second client does one KV_GET at a time on another key (100-byte value) and records each round trip, until ${s.tailSeconds} s after the slow reader's end. The node's VmRSS is read every ${s.pollMs} ms; idle is with both clients connected, before the slow reader sends. The end is when the node logs the client error (or its connection gauge drops, or the TCP connection ends), at most ${s.timeoutSeconds} s; only then does the slow reader read, to see the close frame. ${machineLine(run.machine)}`,
    "",
    "| store | value | idle RSS | peak RSS | peak − idle | VmHWM | RSS 1 s after | ended | after | answers read | other p99 | other worst | other requests | target |",
    "|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|---|",
  ];
  for (const c of run.scenarios) {
    const o = c.other;
    lines.push(
      `| ${c.store} | ${fmt(c.valueSize)} B | ${mib(c.idleRssBytes)} MiB | ${mib(c.peakRssBytes)} MiB | ${mib(c.peakRssBytes - c.idleRssBytes)} MiB | ${mib(c.hwmBytes)} MiB | ${mib(c.rssAfterBytes)} MiB | ${endText(c)} | ${(c.end.afterMs / 1000).toFixed(2)} s | ${fmt(c.end.answersRead)} | ${ms(o.latencyUs.p99)} ms | ${ms(o.latencyUs.max)} ms | ${fmt(o.requests)}${o.errors > 0 ? ` (${o.errors} failed)` : ""} | ${meetsTarget(c) ? "met" : "**not met**"} |`,
    );
  }
  lines.push(
    "",
    `Target: peak ≤ idle + ${mib(SLOW_READER_TARGET.growthBytes)} MiB and the other client's worst round trip < ${SLOW_READER_TARGET.worstLatencyMs} ms, with no failed request. "Answers read" is what the slow reader got once it resumed reading, before the close frame or the end of the TCP connection; "no close frame" means the connection ended without one.`,
  );
  return lines.join("\n");
}

function redisDetail(rows: Row[]): string {
  const lines = [
    "| shape | Redis command | ops/s | p50 ms | p99 ms | Redis CPU µs/op |",
    "|---|---|--:|--:|--:|--:|",
  ];
  const seen = new Set<string>();
  for (const row of rows.filter((r) => r.target === "redis-benchmark")) {
    for (const d of row.detail ?? ([] as RedisBenchmark[])) {
      const k = `${shape(row)} ${d.command}`;
      if (seen.has(k)) continue;
      seen.add(k);
      lines.push(
        `| ${shape(row)} | \`${d.command}\` | ${fmt(d.rps)} | ${d.p50ms} | ${d.p99ms} | ${d.redisUsPerOp ?? ""} |`,
      );
    }
  }
  return lines.join("\n");
}

function main(): void {
  const matrix = latest<Matrix>("matrix");
  if (!matrix) {
    console.error("no results in bench/results/: run `bun run bench` first");
    process.exit(1);
  }
  const m = matrix.data;
  const memory = latest<MemoryRun>("memory");
  const soak = latest<SoakRun>("soak");
  const profile = latest<ProfileRun>("profile");
  const slow = latest<SlowReaderRun>("slow-reader");
  mkdirSync(CHARTS, { recursive: true });
  writeFileSync(join(CHARTS, "throughput.svg"), throughputChart(m.rows));
  writeFileSync(join(CHARTS, "latency.svg"), latencyChart(m.rows));
  if (soak) writeFileSync(join(CHARTS, "soak.svg"), soakChart(soak.data));
  const goals = targets(m.rows);
  const notesPath = join(ROOT, "bench/notes.md");
  const notes = existsSync(notesPath) ? readFileSync(notesPath, "utf8").trim() : "";
  const s = m.settings;
  const doc = [
    "# Benchmarks",
    "",
    "Generated by `bun run bench:report` from the latest results of `bun run bench` (and its",
    "`--memory`, `--soak`, `--profile` and `--slow-reader` modes) in `bench/results/`; don't edit by hand",
    "(the explanations come from `bench/notes.md`).",
    "",
    "## How it is measured",
    "",
    "- **Load generator** (`bench/load.ts`, usable on its own: `bun bench/load.ts --help`): Bun",
    "  WebSocket clients, each keeping a window of requests in flight; requests are prebuilt",
    "  strings on random keys, each in-flight slot keeps its message index and send time in typed",
    "  arrays, every response's command and status are checked, and round-trip latency goes into",
    "  an HDR histogram (`hdr-histogram-js`, µs, 3 significant digits). It runs in the",
    "  orchestrator's process; every server is a child process.",
    `- **Scenarios**: ${s.seconds} s measured after ${s.warmup} s warm-up each, ${fmt(s.keys)} keys (filled before), ${s.valueSize}-byte values (\`{"v":"xxx…"}\`).`,
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
    "  commands kvfleet issues: `EVALSHA` of kvfleet's SET script (set), `GET` (get), `SET … NX`",
    "  (add), `DEL` (rmv), `EVALSHA` of the append script (append), on the same key space and",
    "  value size. The mixed ceiling combines the single-command rates by the mix",
    "  (1 / Σ share ÷ rate). redis-benchmark is a C client, so this is Redis's own ceiling on",
    "  this machine, not the cost of a JavaScript client.",
    "- All processes share the machine's cores: the generator, the node(s) and Redis compete for",
    "  them, as the targets assume.",
    "",
    `## Matrix (${m.started})`,
    "",
    machineLine(m.machine),
    "",
    "![throughput](benchmarks/throughput.svg)",
    "",
    scenarioTable(m.rows),
    "",
    "Latency columns of redis-benchmark rows are its own (ms converted to µs; p99.9 not reported).",
    "",
    "![latency](benchmarks/latency.svg)",
    "",
    "### Redis commands alone (redis-benchmark)",
    "",
    redisDetail(m.rows),
    "",
    "## Targets",
    "",
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
    "",
    ...(notes ? [notes, ""] : []),
    "## Memory per key",
    "",
    memory ? memorySection(memory.data) : "Not measured yet: `bun run bench -- --memory`.",
    "",
    "## Soak",
    "",
    soak ? soakSection(soak.data) : "Not run yet: `bun run bench -- --soak 600`.",
    "",
    "## Profile",
    "",
    profile ? profileSection(profile.data) : "Not run yet: `bun run bench -- --profile`.",
    "",
    "## Slow reader",
    "",
    slow ? slowReaderSection(slow.data) : "Not run yet: `bun run bench -- --slow-reader`.",
    "",
    "## Running it",
    "",
    "```sh",
    "bun run bench                     # the matrix, < 5 min; bench/results/<timestamp>.json",
    "bun run bench -- --help           # options: --seconds, --warmup, --only, --ops, --shapes, ...",
    "bun run bench -- --memory         # RSS and Redis used_memory per key, 1,000,000 keys",
    "bun run bench -- --soak 600       # 10 minutes of mixed load, throughput and RSS over time",
    "bun run bench -- --profile        # a node under bun --cpu-prof, top self time",
    "bun run bench -- --slow-reader    # a client that never reads: node RSS, its close, others' latency",
    "bun run bench:report              # this page and docs/benchmarks/*.svg",
    "bun bench/load.ts --url=ws://127.0.0.1:1987/ --op=mixed --connections=64 --window=32",
    "```",
    "",
  ].join("\n");
  writeFileSync(join(DOCS, "benchmarks.md"), doc);
  console.log(
    `wrote docs/benchmarks.md from ${matrix.path}${memory ? `, ${memory.path}` : ""}${soak ? `, ${soak.path}` : ""}${profile ? `, ${profile.path}` : ""}${slow ? `, ${slow.path}` : ""}`,
  );
  for (const g of goals) console.log(`${g.met ? "met    " : "NOT MET"} ${g.name}: ${g.measured}`);
}

if (import.meta.main) main();
