// The batcher alone, with a requester that records the requests and answers
// each with as many elements as its body has (status 1). The real proof,
// against real servers on memory and Redis, is test/client/batching.ts.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { Batcher, utf8Bytes } from "../../client/src/batches.ts";
import { type Item, keyItem, memberItem } from "../../client/src/requests.ts";

function recorder(maxBytes = 1024) {
  const sent: string[] = [];
  const batcher = new Batcher(
    () => ({
      busy: false,
      request(command: string, body: string, options: string) {
        sent.push(`${command}${options} ${body}`);
        const count = Object.keys(JSON.parse(body)).length;
        const elements = Array.from({ length: count }, (_, i) => ({ k: String(i), st: 1 }));
        return Promise.resolve({ [`${command}_RSP`]: elements });
      },
    }),
    maxBytes,
  );
  const get = (key: string) => batcher.send("KV_GET", "[]", [keyItem(key)], "");
  const set = (key: string, value: number, ttl = "") =>
    batcher.send("KV_SET", "{}", [memberItem(key, value)], ttl);
  return { sent, batcher, get, set };
}

test("a call joins its command's open batch unless a later batch has its key, or its write's batch has", async () => {
  const { sent, get, set } = recorder();
  await Promise.all([
    set("a", 1),
    get("a"),
    set("b", 2), // joins the first KV_SET: b is in no later batch
    set("a", 3), // a is in the first KV_SET (and the KV_GET after it): a new batch
    get("b"), // b is in the first KV_SET only, before the open KV_GET: joins it
    get("a"), // a is in the second KV_SET, after the open KV_GET: a new batch
    get("a"), // a read of a key already in its batch joins it
    set("c", 4, ',"ttl":5'), // other options, another batch
  ]);
  expect(sent).toEqual([
    'KV_SET {"a":1,"b":2}',
    'KV_GET ["a","b"]',
    'KV_SET {"a":3}',
    'KV_GET ["a","a"]',
    'KV_SET,"ttl":5 {"c":4}',
  ]);
});

test("each call gets its own elements, in order; a multi-key call its slice", async () => {
  const { batcher } = recorder();
  const items = (keys: string[]): Item[] => keys.map((key) => keyItem(key));
  const [one, two, three] = await Promise.all([
    batcher.send("KV_GET", "[]", items(["x"]), ""),
    batcher.send("KV_GET", "[]", items(["y", "z"]), ""),
    batcher.send("KV_GET", "[]", items(["w"]), ""),
  ]);
  expect([one, two, three]).toEqual([
    [{ k: "0", st: 1 }],
    [
      { k: "1", st: 1 },
      { k: "2", st: 1 },
    ],
    [{ k: "3", st: 1 }],
  ]);
});

test("flush sends the open batches at once, before what comes next", async () => {
  const { sent, batcher, get } = recorder();
  const calls = [get("a"), get("b")];
  batcher.flush();
  expect(sent).toEqual(['KV_GET ["a","b"]']);
  calls.push(get("c"));
  await Promise.all(calls);
  expect(sent).toEqual(['KV_GET ["a","b"]', 'KV_GET ["c"]']);
});

test("a frame never passes maxBytes; a call over it alone goes alone and leaves the open batch open", async () => {
  // {"id":<16 digits>,"KV_SET":{"k1":1}}: 35 bytes besides the items.
  const { sent, set } = recorder(35 + 2 * 6 + 1);
  await Promise.all([
    set("k1", 1),
    set("k2", 1),
    set("k3", 1),
    set("a-longer-key", 1),
    set("k4", 1),
  ]);
  expect(sent).toEqual([
    'KV_SET {"k1":1,"k2":1}',
    'KV_SET {"k3":1,"k4":1}',
    'KV_SET {"a-longer-key":1}',
  ]);
});

test("utf8Bytes counts as UTF-8 does, lone surrogates as U+FFFD", () => {
  const encoder = new TextEncoder();
  // Any UTF-16 unit (lone surrogates too), or any code point (pairs).
  const unit = fc.oneof(
    fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
  );
  fc.assert(
    fc.property(fc.string({ unit }), (text) => utf8Bytes(text) === encoder.encode(text).length),
    { numRuns: 500 },
  );
});
