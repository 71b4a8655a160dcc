// Batches against a node of the default kv.maxPayload (1024 bytes; a larger
// frame closes the connection with 1009): the client's default bound must
// keep every batch within it, in UTF-8 bytes, whatever the calls' sizes.
// The shared suite's servers allow 1 MiB, so this one is its own.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect, type Kvfleet } from "kvfleet-client";
import { startNode, type TestNode } from "../support/node.ts";

let node: TestNode;
let db: Kvfleet;
beforeAll(async () => {
  node = startNode();
  db = await connect(node.url, { reconnect: false });
});
afterAll(async () => {
  await db?.close();
  await node?.stop();
});

test("one turn of 300 sets and 300 gets of mixed sizes and scripts fits the node's 1024 bytes", async () => {
  expect(node.config.kv.maxPayload).toBe(1024);
  // Values of 1 to 3 bytes a character, each call alone under the bound.
  const chars = ["a", "é", "€", "😀"];
  const values = Array.from({ length: 300 }, (_, i) =>
    (chars[i % chars.length] as string).repeat(1 + ((i * 37) % 200)),
  );
  const keys = values.map((_, i) => `payload:${i}`);
  const before = (await db.info()).queries;
  const sets = await Promise.all(keys.map((key, i) => db.set(key, values[i] as string)));
  const gets = await Promise.all(keys.map((key) => db.get(key)));
  const frames = (await db.info()).queries - before - 1;
  expect(sets).toEqual(keys.map(() => "created"));
  expect(gets).toEqual(values);
  // A 1009 close would have failed calls; this client does not reconnect.
  expect(db.stats).toMatchObject({ connected: true, reconnects: 0 });
  // The sets' values in frames of at most 1 kB, each but the last over half full
  // (the next call did not fit), and the gets' keys in a few.
  const setBytes = values.reduce((sum, v) => sum + new TextEncoder().encode(v).length, 0);
  expect(frames).toBeGreaterThan(setBytes / 1024);
  expect(frames).toBeLessThan((2 * setBytes) / 1024 + 10);
});
