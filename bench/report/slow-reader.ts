/** The Slow reader section: what a client that never reads costs a node and its other clients. */
import { mib, ms } from "../format.ts";
import { endText, meetsTarget, SLOW_READER_TARGET, type SlowReaderRun } from "../results.ts";
import { count, machineLine } from "./text.ts";

export function slowReaderSection(run: SlowReaderRun): string {
  const s = run.settings;
  const lines = [
    `\`bun run bench -- --slow-reader\` (${run.started}): per store and value size, a fresh node with one key holding a value of that size (\`{"v":"xxx…"}\`). A raw TCP WebSocket client pipelines ${count(s.requests)} \`{"KV_GET":["key:0"]}\` in one write and reads nothing (its socket is paused, so its receive window fills and the node has to hold the answers); meanwhile a second client does one KV_GET at a time on another key (100-byte value) and records each round trip, until ${s.tailSeconds} s after the slow reader's end. The node's VmRSS is read every ${s.pollMs} ms; idle is with both clients connected, before the slow reader sends. The end is when the node logs the client error (or its connection gauge drops, or the TCP connection ends), at most ${s.timeoutSeconds} s; only then does the slow reader read, to see the close frame. ${machineLine(run.machine)}`,
    "",
    "| store | value | idle RSS | peak RSS | peak − idle | VmHWM | RSS 1 s after | ended | after | answers read | other p99 | other worst | other requests | target |",
    "|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|---|",
  ];
  for (const c of run.scenarios) {
    const o = c.other;
    lines.push(
      `| ${c.store} | ${count(c.valueSize)} B | ${mib(c.idleRssBytes)} MiB | ${mib(c.peakRssBytes)} MiB | ${mib(c.peakRssBytes - c.idleRssBytes)} MiB | ${mib(c.hwmBytes)} MiB | ${mib(c.rssAfterBytes)} MiB | ${endText(c)} | ${(c.end.afterMs / 1000).toFixed(2)} s | ${count(c.end.answersRead)} | ${ms(o.latencyUs.p99)} ms | ${ms(o.latencyUs.max)} ms | ${count(o.requests)}${o.errors > 0 ? ` (${o.errors} failed)` : ""} | ${meetsTarget(c) ? "met" : "**not met**"} |`,
    );
  }
  lines.push(
    "",
    `Target: peak ≤ idle + ${mib(SLOW_READER_TARGET.growthBytes)} MiB and the other client's worst round trip < ${SLOW_READER_TARGET.worstLatencyMs} ms, with no failed request. "Answers read" is what the slow reader got once it resumed reading, before the close frame or the end of the TCP connection; "no close frame" means the connection ended without one.`,
  );
  return lines.join("\n");
}
