/**
 * Micro-benchmark: what the metrics add to one message, beside what parsing
 * that message costs. Both run side by side in one process.
 */
import { parseMessage } from "../src/protocol/commands.ts";
import { keyStatus, statusOf } from "../src/protocol/responses.ts";
import { Status } from "../src/protocol/status.ts";
import { Metrics } from "../src/server/metrics.ts";
import { nsPerCall } from "./timing.ts";

const message =
  '{"KV_SET":{"user:1234":{"name":"Ada Lovelace","age":36,"tags":["math","poetry"]}}}';
const response = keyStatus("KV_SET", Status.KeySet, '"user:1234"');
const metrics = new Metrics();

/** What the server's message path adds for the metrics of one answered message. */
const measure = (answer: string) => {
  const started = performance.now();
  metrics.response(statusOf(answer));
  metrics.message("KV_SET", (performance.now() - started) / 1000);
};
const rounds = 1_000_000;
nsPerCall(parseMessage, message, rounds / 4);
nsPerCall(measure, response, rounds / 4);
const parsed = nsPerCall(parseMessage, message, rounds);
const measured = nsPerCall(measure, response, rounds);
console.log(`parse one KV_SET:        ${parsed.toFixed(0)} ns`);
console.log(
  `metrics of one message:  ${measured.toFixed(0)} ns (${((measured / parsed) * 100).toFixed(0)}% of parsing)`,
);
await metrics.render();
