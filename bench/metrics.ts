/**
 * Micro-benchmark: what the metrics add to one message, beside what parsing
 * that message costs. Both run side by side in one process.
 */
import type { Command } from "../src/protocol/commands.ts";
import { forEachAnswered, type Outcome } from "../src/protocol/outcome.ts";
import { parseMessage } from "../src/protocol/requests-v1.ts";
import { Status } from "../src/protocol/status.ts";
import { Metrics } from "../src/server/metrics.ts";
import { nsPerCall } from "./timing.ts";

const message =
  '{"KV_SET":{"user:1234":{"name":"Ada Lovelace","age":36,"tags":["math","poetry"]}}}';
const command = parseMessage(message) as Command;
const outcome: Outcome = { kind: "keys", results: [Status.KeySet] };
const metrics = new Metrics();

/** What the server's message path adds for the metrics of one answered message. */
const measure = (answered: Outcome) => {
  const started = performance.now();
  forEachAnswered(command, answered, (st) => metrics.response(st));
  metrics.message("KV_SET", (performance.now() - started) / 1000);
};
const rounds = 1_000_000;
nsPerCall(parseMessage, message, rounds / 4);
nsPerCall(measure, outcome, rounds / 4);
const parsed = nsPerCall(parseMessage, message, rounds);
const measured = nsPerCall(measure, outcome, rounds);
console.log(`parse one KV_SET:        ${parsed.toFixed(0)} ns`);
console.log(
  `metrics of one message:  ${measured.toFixed(0)} ns (${((measured / parsed) * 100).toFixed(0)}% of parsing)`,
);
await metrics.render();
