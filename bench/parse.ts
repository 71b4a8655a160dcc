/**
 * Micro-benchmark: the request scanner against JSON.parse on typical
 * messages. Both run side by side in one process; the ratio is what counts.
 */
import { parseMessage } from "../src/protocol/commands.ts";

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

function time(fn: (s: string) => unknown, text: string, rounds: number): number {
  const start = Bun.nanoseconds();
  for (let i = 0; i < rounds; i++) fn(text);
  return (Bun.nanoseconds() - start) / rounds;
}

console.log("message".padEnd(20), "JSON.parse ns", "scanner ns", "ratio");
for (const [label, text] of Object.entries(messages)) {
  const rounds = 200_000;
  time(JSON.parse, text, rounds / 4);
  time(parseMessage, text, rounds / 4);
  const json = time(JSON.parse, text, rounds);
  const scan = time(parseMessage, text, rounds);
  console.log(
    label.padEnd(20),
    json.toFixed(0).padStart(13),
    scan.toFixed(0).padStart(10),
    (scan / json).toFixed(2),
  );
}
