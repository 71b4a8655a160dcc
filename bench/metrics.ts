/**
 * Micro-benchmark: what the metrics add to one message, beside what parsing
 * that message costs. Both run side by side in one process.
 */
import { parseMessage } from "../src/protocol/commands.ts";
import { keyStatus, statusOf } from "../src/protocol/responses.ts";
import { Status } from "../src/protocol/status.ts";
import { Metrics } from "../src/server/metrics.ts";

const message =
  '{"KV_SET":{"user:1234":{"name":"Ada Lovelace","age":36,"tags":["math","poetry"]}}}';
const response = keyStatus("KV_SET", Status.KeySet, '"user:1234"');
const metrics = new Metrics();

function time(fn: () => unknown, rounds: number): number {
  const start = Bun.nanoseconds();
  for (let i = 0; i < rounds; i++) fn();
  return (Bun.nanoseconds() - start) / rounds;
}

const parse = () => parseMessage(message);
const measure = () => {
  const started = performance.now();
  metrics.response(statusOf(response));
  metrics.message("KV_SET", (performance.now() - started) / 1000);
};
const rounds = 1_000_000;
time(parse, rounds / 4);
time(measure, rounds / 4);
const parsed = time(parse, rounds);
const measured = time(measure, rounds);
console.log(`parse one KV_SET:        ${parsed.toFixed(0)} ns`);
console.log(
  `metrics of one message:  ${measured.toFixed(0)} ns (${((measured / parsed) * 100).toFixed(0)}% of parsing)`,
);
await metrics.render();
