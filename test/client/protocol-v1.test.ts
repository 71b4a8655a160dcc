import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  ConnectError,
  connect,
  JsonObject,
  type Kvfleet,
  KvfleetError,
  readJson,
} from "kvfleet-client";
import { startNode, type TestNode } from "../support/node.ts";

let node: TestNode;
let db: Kvfleet;
beforeAll(async () => {
  node = startNode();
  db = await connect(node.url, { protocol: 1 });
});
afterAll(async () => {
  await db?.close();
  await node?.stop();
});

test("protocol: 1 offers no subprotocol and speaks version 1", async () => {
  expect(db.protocol).toBe(1);
  expect((await db.info()).protocols).toEqual([1]);
});

test("every version 1 command, one request per key, answers as on protocol 2", async () => {
  expect(await db.set("v1:a", { n: 2n ** 64n + 1n })).toBe("created");
  expect(
    await db.set("v1:a", {
      n: 2n ** 64n + 1n,
      m: new JsonObject([
        ["b", 1],
        ["1", 2],
      ]),
    }),
  ).toBe("updated");
  const read = (await db.get("v1:a")) as { n: bigint; m: JsonObject };
  expect(read.n).toBe(2n ** 64n + 1n);
  expect([...read.m.keys()]).toEqual(["b", "1"]);
  expect(await db.get("v1:none")).toBeUndefined();
  expect(await db.add("v1:a", 1)).toBe(false);
  expect(await db.add("v1:b", [1])).toBe(true);
  expect(await db.setMany({ "v1:b": [2], "v1:c": "c" })).toEqual({
    "v1:b": "updated",
    "v1:c": "created",
  });
  expect(await db.getMany(["v1:c", "v1:none", "v1:b"])).toEqual(
    new Map<string, unknown>([
      ["v1:c", "c"],
      ["v1:b", [2]],
    ]) as never,
  );
  expect(await db.getMany([])).toEqual(new Map());
  expect(await db.append("v1:b", [3])).toBe("ok");
  expect(await db.append("v1:b", "x")).toBe("type-mismatch");
  expect(await db.append("v1:none", [3])).toBe("missing");
  expect(await db.get("v1:b")).toEqual([2, 3]);
  expect(await db.has("v1:c")).toBe(true);
  expect(await db.remove("v1:c")).toBe(true);
  expect(await db.remove("v1:c")).toBe(false);
  expect(await db.count()).toBe(2);
  expect(await db.clear()).toBe(2);
  expect(readJson('{"st":1}')).toEqual({ st: 1 });
});

test("what version 1 lacks is a KvfleetError 10 without a request", async () => {
  const before = (await db.info()).queries;
  for (const call of [
    () => db.set("v1:t", 1, { ttl: 1000 }),
    () => db.ttl("v1:t"),
    () => db.expire("v1:t", 1000),
    () => db.persist("v1:t"),
    () => db.watch({ prefixes: [""] }, () => {}),
    () => db.keys().next(),
  ]) {
    await expect(call()).rejects.toThrow(KvfleetError);
    await expect(call()).rejects.toThrow("needs protocol 2");
  }
  expect((await db.info()).queries).toBe(before + 1);
});

test("the default, protocol 2, refuses a server that selects kvfleet.v2 but answers as version 1", async () => {
  // A version 1 server in Bun: Bun's upgrade selects the first subprotocol offered, whatever it is.
  const other = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req, server) => (server.upgrade(req) ? undefined : new Response("no", { status: 400 })),
    websocket: {
      message(ws) {
        ws.send('{"KV_ERR":{"st":11,"m":""}}');
      },
    },
  });
  try {
    const attempt = connect(`ws://127.0.0.1:${other.port}/`, { connectTimeout: 3000 });
    await expect(attempt).rejects.toThrow(ConnectError);
    await expect(attempt).rejects.toThrow(
      'selected kvfleet.v2 but does not speak it (answered {"KV_ERR"',
    );
  } finally {
    other.stop(true);
  }
});
