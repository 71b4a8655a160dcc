/** The Memory per key section. */
import { mib } from "../format.ts";
import type { MemoryRun } from "../results.ts";
import { count } from "./text.ts";

export function memorySection(m: MemoryRun): string {
  const raw = m.settings.rawBytes / m.settings.keys;
  return [
    `${count(m.settings.keys)} keys \`key:0\` … \`key:${m.settings.keys - 1}\` (${(m.settings.keyBytes / m.settings.keys).toFixed(1)} bytes on average) with ${m.settings.valueSize}-byte JSON values, so ${raw.toFixed(1)} bytes of raw data per key (${mib(m.settings.rawBytes)} MiB in all), loaded with KV_SETQ, 100 keys per message. Measured ${m.date}.`,
    "",
    "| store | measure | before | after | per key | ÷ raw data | load time |",
    "|---|---|--:|--:|--:|--:|--:|",
    `| memory (one node) | node VmRSS | ${mib(m.memory.rssBefore)} MiB | ${mib(m.memory.rssAfter)} MiB | ${m.memory.bytesPerKey.toFixed(0)} B | ${(m.memory.bytesPerKey / raw).toFixed(2)} | ${m.memory.loadSeconds.toFixed(1)} s |`,
    `| Redis | \`used_memory\` | ${mib(m.redis.usedMemoryBefore)} MiB | ${mib(m.redis.usedMemoryAfter)} MiB | ${m.redis.bytesPerKey.toFixed(0)} B | ${(m.redis.bytesPerKey / raw).toFixed(2)} | ${m.redis.loadSeconds.toFixed(1)} s through a node |`,
    "",
    `Redis \`used_memory_rss\` went from ${mib(m.redis.redisRssBefore)} to ${mib(m.redis.redisRssAfter)} MiB; the node in front of it held ${mib(m.redis.nodeRss)} MiB RSS after the load (it keeps no data). The memory node's RSS is read 3 s after the load without forcing a garbage collection, so it includes whatever garbage the load left.`,
  ].join("\n");
}
