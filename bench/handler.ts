/**
 * Micro-benchmark: the message handler of each protocol version (parse,
 * execute on a memory store, metrics, encode, and the UTF-8 length of each
 * answer text, which the connection and the socket read) on the requests
 * `bun run bench -- --v2` sends. Version 1 and 2 alternate in short rounds
 * in one process, so load on a shared machine hits both alike; the ratio
 * is what counts. No sockets: what it leaves out is the cost per frame.
 *
 *   bun bench/handler.ts [op ...]     (default set get get10)
 */
import { handlers } from "../src/server/handler.ts";
import { Metrics } from "../src/server/metrics.ts";
import { Watches } from "../src/server/watches.ts";
import { createStore } from "../src/store/create.ts";
import { choiceFlag } from "./cli.ts";
import { prefillMessages } from "./client.ts";
import { buildRequests, OPERATIONS, type Protocol } from "./requests.ts";
import { median } from "./timing.ts";

const KEYS = 10_000;
const VALUE_SIZE = 100;
const args = process.argv.slice(2);
const OPS = (args.length > 0 ? args : ["set", "get", "get10"]).map((op) =>
  choiceFlag("op", op, OPERATIONS),
);

const store = createStore({ type: "memory", maxMemory: 0 });
const handle = handlers(store, { version: "bench", queries: 0 }, new Metrics());
const watches = new Watches(store, 1, { watching() {}, sent() {}, reset() {} });
/** Each version's handler; version 2's for one connection, which watches nothing. */
const byVersion = { 1: handle[1], 2: handle[2](watches.session(() => {})) };
for (const message of prefillMessages(KEYS, VALUE_SIZE)) handle[1](message);

/** ns per request of `protocol`'s handler over all of `texts`, and the frames it answered. */
function run(protocol: Protocol, texts: string[]): { ns: number; frames: number } {
  const handler = byVersion[protocol];
  let frames = 0;
  let bytes = 0;
  const start = Bun.nanoseconds();
  for (const text of texts) {
    const reply = handler(text) as string[];
    frames += reply.length;
    for (const answer of reply) bytes += Buffer.byteLength(answer);
  }
  const ns = (Bun.nanoseconds() - start) / texts.length;
  if (bytes === 0) throw new Error("no answers");
  return { ns, frames: frames / texts.length };
}

console.log("op      v1 ns/req  v2 ns/req  v2/v1  frames v1 v2");
for (const op of OPS) {
  const texts = {
    1: buildRequests(op, KEYS, VALUE_SIZE, { protocol: 1, window: 32 }).texts,
    2: buildRequests(op, KEYS, VALUE_SIZE, { protocol: 2, window: 32 }).texts,
  };
  for (let warm = 0; warm < 5; warm++) for (const v of [1, 2] as const) run(v, texts[v]);
  const ns: Record<Protocol, number[]> = { 1: [], 2: [] };
  const frames: Record<Protocol, number> = { 1: 0, 2: 0 };
  for (let round = 0; round < 21; round++) {
    for (const v of round % 2 === 0 ? ([1, 2] as const) : ([2, 1] as const)) {
      const r = run(v, texts[v]);
      ns[v].push(r.ns);
      frames[v] = r.frames;
    }
  }
  const [a, b] = [median(ns[1]), median(ns[2])];
  console.log(
    `${op.padEnd(7)} ${a.toFixed(0).padStart(9)} ${b.toFixed(0).padStart(10)} ${(b / a).toFixed(2).padStart(6)}  ${frames[1].toString().padStart(9)} ${frames[2]}`,
  );
}
