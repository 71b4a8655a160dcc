/**
 * `bun run bench -- --memory`: the RSS of a memory node holding `keys`
 * keys, and Redis used_memory for the same keys loaded through a node.
 */
import { prefill, request } from "./client.ts";
import { mib } from "./format.ts";
import {
  machineInfo,
  type RedisServer,
  redisInfo,
  type SpawnedServer,
  statusBytes,
  withNode,
  withRedis,
} from "./process.ts";
import type { MemoryRun, MemorySettings } from "./results.ts";

// Messages of 100 keys: well over the payload limit of the load runs.
const NODE = { args: ["--max-payload=2097152"] };
const FILL = { batch: 100, group: 20, connections: 4 };

async function countKeys(url: string): Promise<number> {
  return Number(/"cnt":(\d+)/.exec(await request(url, '{"KV_COUNT":{}}'))?.[1] ?? -1);
}

/** Fills the key space through `node`; answers the keys it then counts and the seconds it took. */
async function load(node: SpawnedServer, { keys, valueSize }: MemorySettings) {
  const t = performance.now();
  await prefill([node.url], keys, valueSize, FILL);
  const loadSeconds = (performance.now() - t) / 1000;
  return { stored: await countKeys(node.url), loadSeconds };
}

// A node can't be told to collect: RSS is read once it has been idle a moment, garbage and all.
async function settledRss(pid: number): Promise<number> {
  await Bun.sleep(3000);
  return statusBytes(pid);
}

function memoryStore(settings: MemorySettings, raw: number): Promise<MemoryRun["memory"]> {
  return withNode(undefined, NODE, async (node) => {
    const before = await settledRss(node.pid);
    const { stored, loadSeconds } = await load(node, settings);
    const after = await settledRss(node.pid);
    const bytesPerKey = (after - before) / stored;
    console.log(
      `memory store: RSS ${mib(before)} -> ${mib(after)} MB, ${bytesPerKey.toFixed(0)} bytes per key (raw ${(raw / settings.keys).toFixed(0)}), loaded in ${loadSeconds.toFixed(1)} s`,
    );
    return { keys: stored, rssBefore: before, rssAfter: after, bytesPerKey, loadSeconds };
  });
}

function redisStore(redis: RedisServer, settings: MemorySettings): Promise<MemoryRun["redis"]> {
  return withNode(redis, NODE, async (node) => {
    const before = await redisInfo(redis.port, "used_memory");
    const rssBefore = await redisInfo(redis.port, "used_memory_rss");
    const { stored, loadSeconds } = await load(node, settings);
    const after = await redisInfo(redis.port, "used_memory");
    const bytesPerKey = (after - before) / stored;
    console.log(
      `redis: used_memory ${mib(before)} -> ${mib(after)} MB, ${bytesPerKey.toFixed(0)} bytes per key, loaded in ${loadSeconds.toFixed(1)} s through a node`,
    );
    return {
      keys: stored,
      usedMemoryBefore: before,
      usedMemoryAfter: after,
      bytesPerKey,
      redisRssBefore: rssBefore,
      redisRssAfter: await redisInfo(redis.port, "used_memory_rss"),
      nodeRss: statusBytes(node.pid),
      loadSeconds,
    };
  });
}

export async function memory(settings: MemorySettings): Promise<MemoryRun> {
  const { keys, valueSize } = settings;
  const machine = machineInfo();
  let keyBytes = 0;
  for (let i = 0; i < keys; i++) keyBytes += `key:${i}`.length;
  const rawBytes = keyBytes + keys * valueSize;
  console.log(
    `memory: ${keys} keys of ${valueSize}-byte values, raw ${mib(rawBytes)} MB (keys ${mib(keyBytes)} MB)`,
  );
  const memoryResult = await memoryStore(settings, rawBytes);
  const redisResult = await withRedis((redis) => redisStore(redis, settings));
  return {
    date: new Date().toISOString(),
    machine,
    settings: { keys, valueSize, keyBytes, rawBytes },
    memory: memoryResult,
    redis: redisResult,
  };
}
