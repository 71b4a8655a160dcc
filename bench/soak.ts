/**
 * `bun run bench -- --soak S`: mixed load on one node for S seconds, its
 * throughput and latency per window and its RSS (VmRSS) every second, to
 * see whether either drifts.
 */
import { prefill } from "./client.ts";
import { mib } from "./format.ts";
import { type LoadResult, runLoad } from "./load.ts";
import {
  loadAverage,
  machineInfo,
  type RedisServer,
  redisInfo,
  type SpawnedServer,
  statusBytes,
  withNode,
  withRedis,
} from "./process.ts";
import type { SoakRun, SoakSettings } from "./results.ts";

type Samples = Pick<SoakRun, "windows" | "rss">;

async function soakNode(
  node: SpawnedServer,
  redis: RedisServer | undefined,
  settings: SoakSettings,
  { windows, rss }: Samples,
): Promise<LoadResult> {
  const { connections, window, warmup, keys, valueSize } = settings;
  await prefill([node.url], keys, valueSize);
  const baseline = statusBytes(node.pid);
  rss.push({ t: -warmup, rssBytes: baseline });
  console.log(
    `soak: ${settings.store} store, ${connections}x${window} mixed for ${settings.seconds} s, RSS ${mib(baseline)} MB`,
  );
  const t0 = performance.now() + warmup * 1000;
  const sampler = setInterval(() => {
    rss.push({ t: Math.round(performance.now() - t0) / 1000, rssBytes: statusBytes(node.pid) });
  }, 1000);
  try {
    return await runLoad({
      urls: [node.url],
      connections,
      window,
      seconds: settings.seconds,
      warmup,
      op: "mixed",
      keys,
      valueSize,
      intervalSeconds: settings.windowSeconds,
      onInterval: (sample) => {
        const now = statusBytes(node.pid);
        // Asked without waiting, so the window's end is not delayed; sorted by t after.
        void (redis ? redisInfo(redis.port, "used_memory") : Promise.resolve(undefined))
          .then((used) => windows.push({ ...sample, rssBytes: now, redisUsedMemory: used }))
          .catch(() => windows.push({ ...sample, rssBytes: now }));
        console.log(
          `${sample.t.toFixed(0).padStart(5)} s ${Math.round(sample.opsPerSecond).toString().padStart(8)} ops/s p99 ${sample.latencyUs.p99} µs errors ${sample.errors} RSS ${mib(now)} MB`,
        );
      },
    });
  } finally {
    clearInterval(sampler);
  }
}

export async function soak(settings: SoakSettings): Promise<SoakRun> {
  const machine = machineInfo();
  const started = new Date();
  const samples: Samples = { windows: [], rss: [] };
  const run = (redis?: RedisServer) =>
    withNode(redis, {}, (node) => soakNode(node, redis, settings, samples));
  const total = await (settings.store === "redis" ? withRedis(run) : run());
  machine.loadavgAfter = loadAverage();
  samples.windows.sort((a, b) => a.t - b.t);
  console.log(`soak: ${Math.round(total.opsPerSecond)} ops/s overall, ${total.errors} errors`);
  return {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    machine,
    settings,
    total,
    ...samples,
  };
}
