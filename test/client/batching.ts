// The batching tests of the shared client suite: api.test.ts registers them
// for each of its targets, so they run in Bun, Node 20 and Chromium alike
// (node:test and node:assert only, as there). Frames are counted by the
// server: KV_SERVER_INFO's qryCnt is every message the node received.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { type ConnectOptions, type Kvfleet, KvfleetError } from "kvfleet-client";

export interface SuiteClient {
  /** Connects to the target with the suite's WebSocket and token. */
  open(options?: ConnectOptions): Promise<Kvfleet>;
  /** A key of this run's own. */
  k(name: string): string;
}

/** The UTF-8 bytes of a text, as the server counts kv.maxPayload. */
const bytes = (text: string) => new TextEncoder().encode(text).length;

export function batchingTests({ open, k }: SuiteClient): void {
  let db: Kvfleet;
  after(() => db?.close());
  /** Frames the node received while `work` ran: its query count before and after, less the second ask. */
  const framesOf = async (work: () => Promise<void>, client = db) => {
    const before = (await client.info()).queries;
    await work();
    return (await client.info()).queries - before - 1;
  };

  test("batching: calls of one turn are a few requests, each call answered as alone", async () => {
    db = await open();
    const names = Array.from({ length: 50 }, (_, i) => k(`b:${i}`));
    const sets = await framesOf(async () => {
      const results = await Promise.all(names.map((name, i) => db.set(name, { i })));
      assert.deepEqual(results, Array(50).fill("created"));
    });
    const gets = await framesOf(async () => {
      const values = await Promise.all(names.map((name) => db.get(name)));
      assert.deepEqual(
        values,
        names.map((_, i) => ({ i })),
      );
    });
    // 50 requests each without batches; about 1.7 and 1.3 kB of bodies here, 1 kB a frame at most.
    assert.ok(sets >= 2 && sets <= 4, `${sets} frames for 50 sets`);
    assert.ok(gets >= 1 && gets <= 3, `${gets} frames for 50 gets`);
    const mixed = await framesOf(async () => {
      const [many, one, more, found, has, gone] = await Promise.all([
        db.setMany({ [k("m:a")]: 1, [k("m:b")]: 2 }),
        db.set(k("m:c"), 3),
        db.setMany(new Map([[k("m:a"), 4]])),
        db.getMany([k("m:a"), k("nothing"), k("m:c")]),
        db.has(k("m:c")),
        db.remove(k("nothing")),
      ]);
      assert.deepEqual(many, { [k("m:a")]: "created", [k("m:b")]: "created" });
      assert.equal(one, "created");
      assert.deepEqual(more, { [k("m:a")]: "updated" });
      assert.deepEqual(
        [...found],
        [
          [k("m:a"), 4],
          [k("m:c"), 3],
        ],
      );
      assert.equal(has, true);
      assert.equal(gone, false);
    });
    // KV_SET (a, b, c), KV_SET (a again), KV_GET, KV_CONTAINS, KV_RMV.
    assert.equal(mixed, 5);
  });

  test("batching: a key keeps its order within a turn (set, set, get, get: created, updated, the new value)", async () => {
    const key = k("order");
    const frames = await framesOf(async () => {
      const results = await Promise.all([db.set(key, 1), db.set(key, 2), db.get(key), db.get(key)]);
      assert.deepEqual(results, ["created", "updated", 2, 2]);
    });
    // A write of a key already in its batch starts another; a read of one may join.
    assert.equal(frames, 3);
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) calls.push(db.set(key, i), db.get(key), db.append(key, "!"));
    const results = await Promise.all(calls);
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(results.slice(3 * i, 3 * i + 3), ["updated", i, "type-mismatch"]);
    }
    const before = await db.count();
    const [, , counted] = await Promise.all([db.set(k("c:1"), 1), db.set(k("c:2"), 2), db.count()]);
    assert.equal(counted, before + 2, "a count asked after two sets in one turn counts them");
  });

  test("batching: one batch of mixed statuses rejects only the failing calls", async () => {
    await db.setMany({ [k("x:1")]: 1, [k("x:2")]: 2 });
    const frames = await framesOf(async () => {
      const results = await Promise.allSettled([
        db.expire(k("x:1"), 60_000),
        db.expire(k("x:2"), 0),
        db.expire(k("x:missing"), 60_000),
        db.set(k("x:3"), 3),
        db.set(k("x:bad"), Number.NaN),
        db.set(k("x:4"), 4),
      ]);
      const [ok, refused, missing, set3, bad, set4] = results;
      assert.deepEqual(ok, { status: "fulfilled", value: true });
      assert.ok(refused.status === "rejected" && refused.reason instanceof KvfleetError);
      assert.equal(refused.reason.status, 41);
      assert.equal(refused.reason.key, k("x:2"));
      assert.deepEqual(missing, { status: "fulfilled", value: false });
      assert.deepEqual(set3, { status: "fulfilled", value: "created" });
      assert.ok(bad.status === "rejected" && bad.reason instanceof TypeError);
      assert.deepEqual(set4, { status: "fulfilled", value: "created" });
    });
    // One KV_EXPIRE, one KV_SET; the bad value never left the client.
    assert.equal(frames, 2);
    assert.equal(await db.has(k("x:bad")), false);
    assert.equal(await db.ttl(k("x:2")), null, "the refused expire left the key as it was");
  });

  test("batching: a batch stays within maxBytes (UTF-8, the id at 16 digits); a call over it goes alone", async () => {
    const frame = (keys: string[]) =>
      `{"id":9999999999999999,"KV_SET":{${keys.map((key) => `${JSON.stringify(key)}:1`).join(",")}}}`;
    // Two-byte characters: a bound counted in UTF-16 units would let more keys in.
    const keys = (set: string) => Array.from({ length: 9 }, (_, i) => k(`bound:${set}:é€${i}`));
    const exact = bytes(frame(keys("a").slice(0, 3)));
    for (const [maxBytes, set, expected] of [
      [exact, "a", 3],
      [exact - 1, "b", 5],
    ] as const) {
      const bounded = await open({ batch: { maxBytes } });
      const frames = await framesOf(async () => {
        const results = await Promise.all(keys(set).map((key) => bounded.set(key, 1)));
        assert.deepEqual(results, Array(9).fill("created"));
      }, bounded);
      assert.equal(frames, expected, `maxBytes ${maxBytes}`);
      await bounded.close();
    }
    const large = "x".repeat(5000);
    const alone = await framesOf(async () => {
      const results = await Promise.all([
        db.set(k("lone:1"), 1),
        db.set(k("lone:large"), large),
        db.set(k("lone:2"), 2),
      ]);
      assert.deepEqual(results, ["created", "created", "created"]);
    });
    assert.equal(alone, 2, "the small ones in one batch, the large one alone");
    assert.equal(await db.get(k("lone:large")), large);
    const many = Array.from({ length: 100 }, (_, i) => k(`many:${i}`));
    const found = await db.getMany([...many, k("lone:large")]);
    assert.deepEqual([...found.keys()], [k("lone:large")]);
  });

  test("batching: batch: false sends a request per call; maxBytes must be a whole number", async () => {
    const single = await open({ batch: false });
    const frames = await framesOf(async () => {
      const values = await Promise.all(Array.from({ length: 10 }, () => single.get(k("b:1"))));
      assert.deepEqual(values, Array(10).fill({ i: 1 }));
    }, single);
    assert.equal(frames, 10);
    await single.close();
    await assert.rejects(open({ batch: { maxBytes: 0 } }), /batch\.maxBytes must be/);
  });
}
