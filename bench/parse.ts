/**
 * Micro-benchmark: the request scanner against JSON.parse on typical
 * messages. Both run side by side in one process; the ratio is what counts.
 */
import { parseMessage } from "../src/protocol/requests-v1.ts";
import { median, nsPerCall } from "./timing.ts";

const messages: Record<string, string> = {
  "get 1 key": '{"KV_GET":["user:1234"]}',
  "set 1 small value":
    '{"KV_SET":{"user:1234":{"name":"Ada Lovelace","age":36,"tags":["math","poetry"]}}}',
  "set 10 keys": JSON.stringify({
    KV_SET: Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`key:${i}`, { n: i, s: "value" }]),
    ),
  }),
  "set 1 KiB value": JSON.stringify({ KV_SET: { big: { text: "x".repeat(1000) } } }),
  "get 50 keys": JSON.stringify({ KV_GET: Array.from({ length: 50 }, (_, i) => `key:${i}`) }),
};

// The two alternate in short rounds and each reports its median round, so a
// burst of load on a shared machine hits both alike instead of one of them.
console.log("message".padEnd(20), "JSON.parse ns", "scanner ns", "ratio");
for (const [label, text] of Object.entries(messages)) {
  const rounds = 50_000;
  for (let warm = 0; warm < 4; warm++) {
    nsPerCall(JSON.parse, text, rounds);
    nsPerCall(parseMessage, text, rounds);
  }
  const json: number[] = [];
  const scan: number[] = [];
  for (let r = 0; r < 15; r++) {
    json.push(nsPerCall(JSON.parse, text, rounds));
    scan.push(nsPerCall(parseMessage, text, rounds));
  }
  const [j, s] = [median(json), median(scan)];
  console.log(
    label.padEnd(20),
    j.toFixed(0).padStart(13),
    s.toFixed(0).padStart(10),
    (s / j).toFixed(2),
  );
}
