/** Numbers and the machine as the report writes them. */
import type { MachineInfo, Shape } from "../results.ts";

export const count = (n: number) => Math.round(n).toLocaleString("en-US");
export const r2 = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(2);
export const shapeOf = (s: Shape) => `${s.connections}x${s.window}`;

export function machineLine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}; Bun ${m.bun}, Redis ${m.redis}. Load average before ${m.loadavgBefore.join(" / ")}${m.loadavgAfter ? `, after ${m.loadavgAfter.join(" / ")}` : ""}.`;
}
