/** The Profile section: self time per function while a node is loaded. */
import type { ProfileRun } from "../results.ts";
import { count } from "./text.ts";

export function profileSection(p: ProfileRun): string {
  const parts: string[] = [
    `\`bun run bench -- --profile\` (${p.date}) runs one node under \`bun --cpu-prof\` per store and loads it at 64x32 with set, then get, for ${p.settings.seconds} s each, in protocol version ${p.settings.protocol ?? 1}. Self time per function, top 12 (the load generator runs in another process and is not in these profiles):`,
  ];
  for (const [store, prof] of Object.entries(p.profiles)) {
    parts.push(
      "",
      `**${store} store** (${Object.entries(prof.loads)
        .map(([op, n]) => `${op} ${count(n)} ops/s`)
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
