// The client against real servers, one file for both runners: `bun test`
// runs it as is (starting its servers), and test/client/node.test.ts runs it
// in Node 20 with `node --test` and the ws package, against servers it
// started, handed over in KVFLEET_CLIENT_TARGETS. So: node:test and
// node:assert only, no Bun API outside the Bun-only start below.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import {
  ConnectError,
  type ConnectOptions,
  connect,
  JsonNumber,
  JsonObject,
  type Kvfleet,
  KvfleetError,
  readJson,
  type WatchEvent,
  type WebSocketConstructor,
} from "kvfleet-client";
import { batchingTests } from "./batching.ts";
import type { Target } from "./targets.ts";

const WebSocket: WebSocketConstructor =
  (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ??
  ((await import("ws")).WebSocket as unknown as WebSocketConstructor);
const given = process.env.KVFLEET_CLIENT_TARGETS;
const targets: Target[] = given === undefined ? await startHere() : JSON.parse(given);

async function startHere(): Promise<Target[]> {
  if (!("bun" in process.versions)) {
    throw new Error("in Node, run through test/client/node.test.ts (it starts the servers)");
  }
  const { startTargets } = await import("./targets.ts");
  const started = await startTargets();
  after(() => started.stop());
  return started.targets;
}

for (const target of targets) {
  describe(`kvfleet-client on the ${target.name}`, () => {
    const open = (options: ConnectOptions = {}) =>
      connect(target.url, { WebSocket, token: target.token, ...options });
    let db: Kvfleet;
    const run = `${"bun" in process.versions ? "bun" : "node"}-${Date.now()}`;
    const k = (name: string) => `${run}:${name}`;
    /** The raw text of the KV_GET answer: what the server stored, before any client reads it. */
    const rawGet = (key: string) =>
      new Promise<string>((resolve, reject) => {
        const url = new URL(target.url);
        if (target.token !== undefined) url.searchParams.set("token", target.token);
        const socket = new WebSocket(url.href, ["kvfleet.v2"]);
        socket.addEventListener("open", () =>
          socket.send(JSON.stringify({ id: 1, KV_GET: [key] })),
        );
        socket.addEventListener("message", (event) => {
          resolve(String(event.data));
          socket.close();
        });
        socket.addEventListener("error", () => reject(new Error(`raw socket to ${url} failed`)));
      });

    after(() => db?.close());

    test("connect speaks kvfleet.v2 (info says protocols 1 and 2)", async () => {
      db = await open();
      const info = await db.info();
      assert.deepEqual(info.protocols, [1, 2]);
      assert.match(info.version, /^\d+\.\d+\.\d+/);
    });

    test("set answers created then updated; get reads the value, undefined when missing", async () => {
      assert.equal(await db.set(k("user"), { name: "Ada", langs: ["en"] }), "created");
      assert.equal(await db.set(k("user"), { name: "Ada", langs: ["en", "fr"] }), "updated");
      assert.deepEqual(await db.get(k("user")), { name: "Ada", langs: ["en", "fr"] });
      assert.equal(await db.get(k("nobody")), undefined);
    });

    test("add adds only a missing key and keeps the old value", async () => {
      assert.equal(await db.add(k("once"), 1), true);
      assert.equal(await db.add(k("once"), 2), false);
      assert.equal(await db.get(k("once")), 1);
    });

    test("getMany gives a Map of the keys found; setMany a result per key", async () => {
      assert.deepEqual(await db.setMany({ [k("a")]: 1, [k("b")]: [2] }), {
        [k("a")]: "created",
        [k("b")]: "created",
      });
      assert.deepEqual(await db.setMany(new Map([[k("b"), "two"]])), { [k("b")]: "updated" });
      const found = await db.getMany([k("a"), k("missing"), k("b")]);
      assert.deepEqual(
        [...found],
        [
          [k("a"), 1],
          [k("b"), "two"],
        ],
      );
      assert.deepEqual(await db.getMany([]), new Map());
    });

    test("remove and has", async () => {
      await db.set(k("gone"), true);
      assert.equal(await db.has(k("gone")), true);
      assert.equal(await db.remove(k("gone")), true);
      assert.equal(await db.remove(k("gone")), false);
      assert.equal(await db.has(k("gone")), false);
    });

    test("append: ok, missing, type-mismatch", async () => {
      await db.set(k("list"), [1]);
      assert.equal(await db.append(k("list"), [2, 3]), "ok");
      assert.deepEqual(await db.get(k("list")), [1, 2, 3]);
      assert.equal(await db.append(k("list"), { x: 1 }), "type-mismatch");
      assert.equal(await db.append(k("no-list"), [1]), "missing");
    });

    test("ttl, expire and persist", async () => {
      await db.set(k("session"), "s", { ttl: 60_000 });
      const left = await db.ttl(k("session"));
      assert.ok(typeof left === "number" && left > 0 && left <= 60_000, `ttl ${left}`);
      assert.equal(await db.persist(k("session")), true);
      assert.equal(await db.ttl(k("session")), null);
      assert.equal(await db.expire(k("session"), 5000), true);
      const again = await db.ttl(k("session"));
      assert.ok(typeof again === "number" && again > 0 && again <= 5000, `ttl ${again}`);
      assert.equal(await db.ttl(k("nothing")), undefined);
      assert.equal(await db.expire(k("nothing"), 5000), false);
      assert.equal(await db.persist(k("nothing")), false);
      await db.set(k("session"), "s");
      assert.equal(await db.ttl(k("session")), null, "set without ttl makes the key persistent");
    });

    test("keys pages through every key under a prefix", async () => {
      const names = ["p:1", "p:2", "p:3", "p:4", "p:5"].map(k);
      await db.setMany(Object.fromEntries(names.map((name) => [name, 0])));
      await db.set(k("q:1"), 0);
      const listed: string[] = [];
      for await (const key of db.keys({ prefix: k("p:"), pageSize: 2 })) listed.push(key);
      assert.deepEqual(listed.sort(), names);
      const all: string[] = [];
      for await (const key of db.keys({ prefix: run })) all.push(key);
      assert.ok(all.includes(k("q:1")) && all.length === new Set(all).size);
    });

    test("big numbers pass through the server exactly: 2^64+1, 1e400, 0.1", async () => {
      const value = {
        big: 2n ** 64n + 1n,
        huge: new JsonNumber("1e400"),
        tenth: 0.1,
        neg: -(2n ** 70n),
      };
      await db.set(k("numbers"), value);
      assert.match(
        await rawGet(k("numbers")),
        /"v":\{"big":18446744073709551617,"huge":1e400,"tenth":0\.1,"neg":-1180591620717411303424\}/,
      );
      const read = (await db.get(k("numbers"))) as Record<string, unknown>;
      assert.equal(read.big, 18446744073709551617n);
      assert.equal(read.neg, -(2n ** 70n));
      assert.ok(read.huge instanceof JsonNumber && read.huge.text === "1e400");
      assert.equal(read.tenth, 0.1);
      assert.equal(await db.set(k("numbers"), read as never), "updated");
      assert.equal(
        await db.get(k("numbers")).then((v) => (v as { big: bigint }).big),
        2n ** 64n + 1n,
      );
      const lossy = await open({ bigints: "number" });
      assert.equal(((await lossy.get(k("numbers"))) as { big: number }).big, 2 ** 64);
      await lossy.close();
    });

    test("integer-like member names keep their order (as a JsonObject)", async () => {
      const text = '{"b":1,"10":2,"2":3,"a":{"9":0,"x":1}}';
      await db.set(k("ordered"), readJson(text));
      assert.match(await rawGet(k("ordered")), /"v":\{"b":1,"10":2,"2":3,"a":\{"9":0,"x":1\}\}/);
      const read = await db.get(k("ordered"));
      assert.ok(read instanceof JsonObject);
      assert.deepEqual([...read.keys()], ["b", "10", "2", "a"]);
      // An object whose order JavaScript keeps is a plain object.
      assert.deepEqual(read.get("a"), { "9": 0, x: 1 });
      await db.set(k("plain"), { "1": "one", "2": "two", name: "n" });
      assert.deepEqual(await db.get(k("plain")), { "1": "one", "2": "two", name: "n" });
    });

    test("watch: events of other clients' writes, then none after close", async () => {
      const writer = await open();
      const events: WatchEvent[] = [];
      let wake = () => {};
      const watch = await db.watch({ prefixes: [k("w:")] }, (event) => {
        events.push(event);
        wake();
      });
      const until = (n: number) =>
        new Promise<void>((resolve) => {
          wake = () => events.length >= n && resolve();
          wake();
        });
      await writer.set(k("w:1"), { n: 2n ** 64n });
      await writer.append(k("w:1"), { m: 1 });
      await writer.remove(k("w:1"));
      await writer.set(k("other"), 1);
      await until(3);
      assert.deepEqual(events, [
        { op: "set", key: k("w:1"), value: { n: 2n ** 64n } },
        { op: "append", key: k("w:1"), value: { n: 2n ** 64n, m: 1 } },
        { op: "rmv", key: k("w:1") },
      ]);
      await watch.close();
      await writer.set(k("w:2"), 1);
      await db.get(k("w:2"));
      assert.equal(events.length, 3);
      await writer.close();
      await assert.rejects(
        db.watch({}, () => {}),
        TypeError,
      );
    });

    test("errors: a server status is a KvfleetError with a readable message", async () => {
      await db.set(k("e"), 1);
      await assert.rejects(db.expire(k("e"), 0), (err: unknown) => {
        assert.ok(err instanceof KvfleetError);
        assert.equal(err.status, 41);
        assert.match(err.message, /KV_EXPIRE failed for key ".*:e": 41/);
        return true;
      });
      const pages = db.keys({ pageSize: 5000 });
      await assert.rejects(pages.next(), (err: unknown) => {
        assert.ok(err instanceof KvfleetError);
        assert.equal(err.status, 12);
        assert.match(err.message, /KV_KEYS failed: 12 .*limit/);
        return true;
      });
      await assert.rejects(db.set(k("e"), Number.NaN), /the value of ".*:e" is NaN/);
      await assert.rejects(
        db.set(k("e"), { a: [1, () => 1] } as never),
        /the value of ".*:e"\.a\[1\] is function/,
      );
      await assert.rejects(db.set(k("e"), 1, { ttl: 0 }), /ttl must be/);
      await assert.rejects(db.get(7 as never), /key must be a string/);
      assert.equal(await db.get(k("e")), 1, "the connection still works");
    });

    if (target.tooBig !== undefined) {
      test("a store failure (100) rejects that call only", async () => {
        const big = "x".repeat(target.tooBig as number);
        const results = await Promise.allSettled([
          db.set(k("small-1"), 1),
          db.set(k("too-big"), big),
          db.set(k("small-2"), 2),
        ]);
        assert.equal(results[0].status, "fulfilled");
        assert.equal(results[2].status, "fulfilled");
        const failed = results[1];
        assert.ok(failed.status === "rejected" && failed.reason instanceof KvfleetError);
        assert.equal(failed.reason.status, 100);
        assert.equal(await db.has(k("too-big")), false);
      });
    }

    if (target.token !== undefined) {
      test("the token: in a header, in ?token=, and refused when wrong", async () => {
        const viaQuery = await open({ tokenIn: "query" });
        assert.equal(await viaQuery.get(k("once")), 1);
        await viaQuery.close();
        await assert.rejects(open({ token: "wrong-token-wrong-token" }), ConnectError);
        await assert.rejects(open({ token: undefined }), ConnectError);
      });
    }

    batchingTests({ open, k });

    test("count and clear", async () => {
      await db.set(k("counted"), 1);
      const n = await db.count();
      assert.ok(n >= 1);
      assert.equal(await db.clear(), n);
      assert.equal(await db.count(), 0);
    });
  });
}
