/**
 * `bun run bench -- --profile [--protocol=2]`: a node per store under
 * `bun --cpu-prof`, loaded at 64x32 with set, then get, in protocol version
 * 1 or 2; the functions with the most self time.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { prefill } from "./client.ts";
import { runLoad } from "./load.ts";
import { machineInfo, withNode, withRedis } from "./process.ts";
import type { ProfileRun, ProfileSettings, SelfTime, StoreType } from "./results.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** The functions with the most self time in a .cpuprofile. */
function topSelf(file: string, limit = 25): SelfTime[] {
  const profile = JSON.parse(readFileSync(file, "utf8")) as {
    nodes: ProfileNode[];
    samples?: number[];
  };
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const hits = new Map<number, number>();
  if (profile.samples && profile.samples.length > 0) {
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const node of profile.nodes) hits.set(node.id, node.hitCount ?? 0);
  }
  const total = [...hits.values()].reduce((a, b) => a + b, 0) || 1;
  const byFunction = new Map<string, number>();
  for (const [id, n] of hits) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const where = frame.url.replace(/^.*\/(src|bench|node_modules)\//, "$1/");
    const name = `${frame.functionName || "(anonymous)"}\t${where}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + n);
  }
  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, n]) => {
      const [fn, where] = name.split("\t");
      return {
        name: fn as string,
        where: where ?? "",
        percent: Math.round((n / total) * 1000) / 10,
      };
    });
}

/** Profiles each store in turn, writing <store>.cpuprofile into `dir`. */
export async function profile(settings: ProfileSettings, dir: string): Promise<ProfileRun> {
  const { seconds, keys, valueSize } = settings;
  const protocol = settings.protocol ?? 1;
  const suffix = protocol === 1 ? "" : `-v${protocol}`;
  mkdirSync(dir, { recursive: true });
  const machine = machineInfo();
  const profiles: ProfileRun["profiles"] = {};
  await withRedis(async (redis) => {
    for (const store of ["memory", "redis"] as const satisfies StoreType[]) {
      const env = {
        BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir} --cpu-prof-name=${store}${suffix}.cpuprofile`,
      };
      // The profile is written when the node exits: read it after withNode stopped it.
      const loads = await withNode(store === "redis" ? redis : undefined, { env }, async (node) => {
        await prefill([node.url], keys, valueSize);
        const loads: Record<string, number> = {};
        for (const op of ["set", "get"] as const) {
          const r = await runLoad({
            urls: [node.url],
            connections: 64,
            window: 32,
            seconds,
            warmup: 0,
            op,
            protocol,
            keys,
            valueSize,
          });
          loads[op] = Math.round(r.opsPerSecond);
        }
        return loads;
      });
      const top = topSelf(join(dir, `${store}${suffix}.cpuprofile`));
      profiles[store] = { loads, top };
      console.log(
        `\n${store} store, 64x32 set then get, protocol ${protocol} (${JSON.stringify(loads)} ops/s), self time:`,
      );
      for (const f of top)
        console.log(`${f.percent.toFixed(1).padStart(6)}%  ${f.name}  ${f.where}`);
    }
  });
  console.log(`\nprofiles in ${dir}`);
  return { date: new Date().toISOString(), machine, settings, profiles, dir };
}
