/**
 * What one entry of the memory store costs beyond its key and value text:
 * the figure behind ENTRY_OVERHEAD in src/store/memory.ts.
 *
 *   bun bench/memory-overhead.ts
 *
 * Two ways, each row in a fresh process:
 *
 * - in-process: KV_SET messages are built as strings, parsed by the server's
 *   own parser (so keys and values are slices of the message, or copies above
 *   4 KiB, as in the server) and stored in a MemoryStore; RSS and heap are
 *   read after a full GC before and after.
 * - server: a real node (`src/main.ts`) gets the same messages over a
 *   WebSocket as KV_SETQ; its RSS is read from /proc before and after (no GC
 *   can be forced there: this includes the garbage the node still holds).
 *
 * The overhead is the growth per entry minus key.length + value.length.
 */
import { parseMessage } from "../src/protocol/requests-v1.ts";
import { ENTRY_OVERHEAD, MemoryStore } from "../src/store/memory.ts";
import { spawnServer } from "../test/support/server.ts";
import { statusBytes } from "./process.ts";

interface Row {
  mode: "in-process" | "server";
  valueSize: number;
  keysPerMessage: number;
  entries: number;
  /** Key and value characters stored, per entry. */
  text: number;
  rss: number;
  /** JSC's heap, string buffers included (in-process only). */
  heap?: number;
  /** The store's own estimate, per entry. */
  estimated: number;
}

const ROWS: [valueSize: number, keysPerMessage: number, entries: number][] = [
  [10, 1, 1_000_000],
  [100, 1, 1_000_000],
  [100, 10, 1_000_000],
  [1000, 1, 500_000],
  [2000, 1, 250_000],
  [5000, 1, 100_000],
];

/** The body of a KV_SET with `count` keys from `first`, each value exactly `valueSize` (at least 10) characters. */
function members(first: number, count: number, valueSize: number): string {
  const pad = "x".repeat(valueSize - 10);
  const out: string[] = [];
  for (let n = first; n < first + count; n++) {
    const id = String(n).padStart(8, "0");
    out.push(`"key:${id}":"${id}${pad}"`);
  }
  return out.join(",");
}

const KEY_LENGTH = "key:00000000".length;
const SETTLE_MS = 2000;

async function inProcess(valueSize: number, keysPerMessage: number, entries: number): Promise<Row> {
  const store = new MemoryStore();
  // The allocator hands freed pages back a moment after a collection.
  const settle = async () => {
    Bun.gc(true);
    await Bun.sleep(SETTLE_MS);
    Bun.gc(true);
    return process.memoryUsage();
  };
  const before = await settle();
  for (let n = 0; n < entries; n += keysPerMessage) {
    // Parsing flattens the message into one buffer, as a socket's text arrives.
    const command = parseMessage(`{"KV_SET":{${members(n, keysPerMessage, valueSize)}}}`);
    if (command.name !== "KV_SET") throw new Error("not a KV_SET");
    store.set(command.keys, command.values);
  }
  const after = await settle();
  if (store.count() !== entries) throw new Error(`stored ${store.count()} of ${entries}`);
  return {
    mode: "in-process",
    valueSize,
    keysPerMessage,
    entries,
    text: KEY_LENGTH + valueSize,
    rss: (after.rss - before.rss) / entries,
    heap: (after.heapUsed - before.heapUsed) / entries,
    estimated: store.usage().bytes / entries,
  };
}

async function throughServer(
  valueSize: number,
  keysPerMessage: number,
  entries: number,
): Promise<Row> {
  const server = await spawnServer({ args: ["--max-payload=2097152", "--log-level=warn"] });
  try {
    const socket = new WebSocket(server.url);
    await new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
    const replies: string[] = [];
    let wake = () => {};
    socket.addEventListener("message", (event) => {
      replies.push(String(event.data));
      wake();
    });
    const ask = (message: string) =>
      new Promise<string>((resolve) => {
        wake = () => resolve(replies.shift() as string);
        socket.send(message);
      });
    await ask('{"KV_COUNT":{}}');
    const before = statusBytes(server.pid);
    for (let n = 0; n < entries; ) {
      // KV_SETQ answers nothing when it succeeds; a KV_COUNT after each round paces the sender.
      for (let m = 0; m < 100 && n < entries; m++, n += keysPerMessage) {
        socket.send(`{"KV_SETQ":{${members(n, keysPerMessage, valueSize)}}}`);
      }
      await ask('{"KV_COUNT":{}}');
    }
    // Bun collects when idle; give it the same moment as the in-process rows.
    await Bun.sleep(SETTLE_MS);
    const counted = JSON.parse(await ask('{"KV_COUNT":{}}')).KV_COUNT_RSP.cnt;
    if (counted !== entries || replies.length > 0) throw new Error(`stored ${counted}`);
    const rss = (statusBytes(server.pid) - before) / entries;
    socket.close();
    return {
      mode: "server",
      valueSize,
      keysPerMessage,
      entries,
      text: KEY_LENGTH + valueSize,
      rss,
      estimated: KEY_LENGTH + valueSize + ENTRY_OVERHEAD,
    };
  } finally {
    await server.stop();
  }
}

const [mode, ...numbers] = process.argv.slice(2);
const [size, perMessage, count] = numbers.map(Number) as [number, number, number];
if (mode === "in-process") {
  console.log(JSON.stringify(await inProcess(size, perMessage, count)));
} else if (mode === "server") {
  console.log(JSON.stringify(await throughServer(size, perMessage, count)));
} else {
  const self = new URL(import.meta.url).pathname;
  console.log(`Bun ${Bun.version}; ENTRY_OVERHEAD = ${ENTRY_OVERHEAD}; bytes per entry:`);
  const head = ["mode", "value", "keys/msg", "entries", "text", "RSS", "heap", "RSS-text"];
  const widths = [10, 6, 8, 9, 6, 6, 6, 8, 9, 9];
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 8)).join(" ");
  console.log(line([...head, "heap-text", "est/RSS"]));
  for (const run of ["in-process", "server"]) {
    for (const [valueSize, keysPerMessage, entries] of ROWS) {
      const args = [run, valueSize, keysPerMessage, entries].map(String);
      const child = Bun.spawnSync(["bun", self, ...args], { stderr: "inherit" });
      if (child.exitCode !== 0) throw new Error(`${args.join(" ")} failed`);
      const row = JSON.parse(child.stdout.toString()) as Row;
      const round = (n: number | undefined) => (n === undefined ? "-" : n.toFixed(0));
      console.log(
        line([
          row.mode,
          String(row.valueSize),
          String(row.keysPerMessage),
          String(row.entries),
          String(row.text),
          round(row.rss),
          round(row.heap),
          round(row.rss - row.text),
          round(row.heap === undefined ? undefined : row.heap - row.text),
          (row.estimated / row.rss).toFixed(2),
        ]),
      );
    }
  }
}
