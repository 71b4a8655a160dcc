/** The Soak section: throughput, latency and RSS over a long run, and whether they drift. */
import { mib } from "../format.ts";
import type { SoakRun } from "../results.ts";
import { linePanels } from "./svg.ts";
import { count, machineLine } from "./text.ts";

export function soakChart(soak: SoakRun): string {
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

export function soakSection(soak: SoakRun): string {
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
    `- Overall ${count(soak.total.opsPerSecond)} ops/s, ${count(soak.total.ops)} answers, ${soak.total.errors} errors; latency p50 ${soak.total.latencyUs.p50} µs, p99 ${soak.total.latencyUs.p99} µs, p99.9 ${soak.total.latencyUs.p999} µs.`,
    `- Throughput per window: min ${count(Math.min(...rates))}, max ${count(Math.max(...rates))}; mean of the first half ${count(firstHalf)}, of the second half ${count(secondHalf)} (${((secondHalf / firstHalf - 1) * 100).toFixed(1)} %).`,
    `- Node RSS: ${mib(soak.rss[0]?.rssBytes ?? 0)} MiB idle with the keys loaded, ${mib(Math.min(...rssValues))} to ${mib(Math.max(...rssValues))} MiB under load, ${mib(rss.at(-1)?.rssBytes ?? 0)} MiB at the end; trend over the second half ${(rssSlope * 60).toFixed(2)} MiB per minute.`,
  ].join("\n");
}
