import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Answer, TestClient } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";

type Rsp = Record<string, { st: number; k?: string; cnt?: number } & Record<string, unknown>>;

const ROUNDS = 200;
/** Rounds of the protocol v2 races, each with a ttl. */
const V2_ROUNDS = 100;

/** A v2 per-key answer's elements. */
type Elements = { k?: string; st: number; v?: unknown; ttl?: number | null }[];

/**
 * Three kvfleet nodes on one shared store: every status stays exact as if
 * there were one server. `storeArgs` gives the flags that point a node at the
 * store. The suite needs no empty store: each test uses keys of its own, and
 * the count test clears the store first. The nodes run in this process, each
 * with its own store client, as three processes would; the statuses come from
 * the shared store, not from the nodes. Protocol v2 connections to the same
 * nodes check expiry and listings across nodes, and races with a ttl.
 */
export function multiNodeSuite(name: string, storeArgs: () => string[]): void {
  describe(`three nodes on ${name}`, () => {
    let nodes: TestNode[] = [];
    let clients: TestClient[] = [];

    beforeAll(async () => {
      nodes = [0, 1, 2].map(() => startNode(["--max-payload=65536", ...storeArgs()]));
      clients = await Promise.all(nodes.map((node) => TestClient.open(node.url)));
    });
    afterAll(async () => {
      for (const client of clients) client.close();
      await Promise.all(nodes.map((node) => node.stop()));
    });

    const client = (i: number) => clients[i] as TestClient;

    /** Sends one command through every node at once; the status each answered. */
    async function race(
      command: string,
      body: (key: string) => unknown,
      key: string,
    ): Promise<number[]> {
      const text = JSON.stringify({ [command]: body(key) });
      for (const client of clients) client.send(text);
      const answers = (await Promise.all(clients.map((c) => c.next()))) as Rsp[];
      return answers.map((answer) => {
        const rsp = answer[`${command}_RSP`];
        expect(rsp?.k).toBe(key);
        return rsp?.st ?? -1;
      });
    }

    const tally = (sts: number[]) => [...sts].sort((a, b) => a - b);
    /** A value of its own for each key. */
    const i0 = (key: string) => ({ key });

    test(`KV_ADD of a fresh key through all nodes: exactly one 20 and two 23, ${ROUNDS} rounds`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const sts = await race("KV_ADD", (k) => ({ [k]: round }), `add:${crypto.randomUUID()}`);
        expect(tally(sts)).toEqual([20, 23, 23]);
      }
    });

    test(`KV_SET of a fresh key through all nodes: exactly one 20 and two 21, ${ROUNDS} rounds`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const sts = await race("KV_SET", (k) => ({ [k]: round }), `set:${crypto.randomUUID()}`);
        expect(tally(sts)).toEqual([20, 21, 21]);
      }
    });

    test(`KV_RMV of an existing key through all nodes: exactly one 24 and two 22, ${ROUNDS} rounds`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const key = `rmv:${crypto.randomUUID()}`;
        expect(await client(0).ask({ KV_SET: { [key]: round } })).toEqual([
          { KV_SET_RSP: { st: 20, k: key } },
        ]);
        const sts = await race("KV_RMV", (k) => [k], key);
        expect(tally(sts)).toEqual([22, 22, 24]);
      }
    });

    test("100 concurrent KV_APPENDs spread over the nodes all land", async () => {
      const key = `append:${crypto.randomUUID()}`;
      await client(0).ask({ KV_SET: { [key]: [] } });
      for (let i = 0; i < 100; i++) client(i % 3).command({ KV_APPEND: { [key]: [i] } });
      for (let c = 0; c < 3; c++) {
        const answers = await client(c).take(c === 0 ? 34 : 33);
        for (const answer of answers) expect(answer).toEqual({ KV_APPEND_RSP: { st: 1, k: key } });
      }
      const [got] = (await client(1).ask({ KV_GET: [key] })) as Rsp[];
      const elements = got?.KV_GET_RSP?.[key] as number[];
      expect([...elements].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    });

    test("a value written through one node reads back equal through the others", async () => {
      const key = `value:${crypto.randomUUID()}`;
      const value = '{"10":[],"2":{},"big":18446744073709551617,"d":0.1,"s":"\\u00e9"}';
      client(0).send(`{"KV_SET":{"${key}":${value}}}`);
      expect(await client(0).next()).toEqual({ KV_SET_RSP: { st: 20, k: key } });
      for (const client of clients.slice(1)) {
        client.send(`{"KV_GET":["${key}"]}`);
        expect(await client.nextText()).toBe(`{"KV_GET_RSP":{"${key}":${value},"st":1}}`);
      }
    });

    describe("protocol v2", () => {
      /** One kvfleet.v2 connection per node. */
      let v2: TestClient[] = [];
      beforeAll(async () => {
        v2 = await Promise.all(
          nodes.map((node) => TestClient.open(node.url, { protocols: "kvfleet.v2" })),
        );
        for (const client of v2) expect(client.protocol).toBe("kvfleet.v2");
      });
      afterAll(() => {
        for (const client of v2) client.close();
      });
      const on = (i: number) => v2[i] as TestClient;
      let ids = 0;
      /** One request through node `i`; the elements of its per-key answer. */
      async function elements(
        i: number,
        command: string,
        body: unknown,
        options: Record<string, unknown> = {},
      ): Promise<Elements> {
        const answer = await on(i).request(++ids, command, body, options);
        const rsp = answer[`${command}_RSP`];
        expect(Array.isArray(rsp)).toBe(true);
        return rsp as Elements;
      }
      const ttlThrough = async (i: number, key: string) => (await elements(i, "KV_TTL", [key]))[0];

      test("a ttl set through one node is seen through the others, and the key expires on all", async () => {
        const key = `v2ttl:${crypto.randomUUID()}`;
        expect(await elements(0, "KV_SET", { [key]: [1] }, { ttl: 400 })).toEqual([
          { k: key, st: 20 },
        ]);
        const written = performance.now();
        for (const i of [1, 2]) {
          const left = await ttlThrough(i, key);
          expect(left).toEqual({ k: key, st: 1, ttl: expect.any(Number) });
          expect(left?.ttl as number).toBeGreaterThan(0);
          expect(left?.ttl as number).toBeLessThanOrEqual(400);
          expect(await elements(i, "KV_GET", [key])).toEqual([{ k: key, st: 1, v: [1] }]);
        }
        await Bun.sleep(Math.max(0, written + 415 - performance.now()));
        for (const i of [0, 1, 2]) {
          expect(await elements(i, "KV_GET", [key])).toEqual([{ k: key, st: 22 }]);
          expect(await ttlThrough(i, key)).toEqual({ k: key, st: 22 });
        }
        expect(await elements(2, "KV_ADD", { [key]: 2 })).toEqual([{ k: key, st: 20 }]);
      });

      test("KV_EXPIRE through one node and KV_PERSIST through another are seen by the third", async () => {
        const key = `v2expire:${crypto.randomUUID()}`;
        await elements(0, "KV_SET", { [key]: 1 });
        expect(await ttlThrough(2, key)).toEqual({ k: key, st: 1, ttl: null });
        expect(await elements(1, "KV_EXPIRE", { [key]: 60_000 })).toEqual([{ k: key, st: 1 }]);
        expect((await ttlThrough(2, key))?.ttl as number).toBeGreaterThan(50_000);
        expect(await elements(0, "KV_PERSIST", [key])).toEqual([{ k: key, st: 1 }]);
        expect(await ttlThrough(2, key)).toEqual({ k: key, st: 1, ttl: null });
        // A v1 KV_SET through another node drops an expiry set through v2.
        await elements(2, "KV_EXPIRE", { [key]: 60_000 });
        expect(await client(1).ask({ KV_SET: { [key]: 2 } })).toEqual([
          { KV_SET_RSP: { st: 21, k: key } },
        ]);
        expect(await ttlThrough(0, key)).toEqual({ k: key, st: 1, ttl: null });
      });

      test("a KV_KEYS listing continues on another node with the cursor", async () => {
        const prefix = `v2keys:${crypto.randomUUID()}:`;
        const keys = Array.from({ length: 120 }, (_, i) => `${prefix}${i}`);
        const set = await elements(1, "KV_SET", Object.fromEntries(keys.map((k) => [k, i0(k)])));
        expect(set.every((e) => e.st === 20)).toBe(true);
        const seen = new Set<string>();
        const served = new Set<number>();
        let cursor: string | null = null;
        for (let page = 0; page < 1000; page++) {
          const i = page % 3;
          const body: Record<string, unknown> = { prefix, limit: 10 };
          if (cursor !== null) body.cursor = cursor;
          const answer: Answer = await on(i).request(++ids, "KV_KEYS", body);
          const rsp = answer.KV_KEYS_RSP as { st: number; keys: string[]; cursor: string | null };
          expect(rsp.st).toBe(1);
          expect(rsp.keys.length).toBeLessThanOrEqual(10);
          for (const k of rsp.keys) {
            expect(k.startsWith(prefix)).toBe(true);
            seen.add(k);
          }
          served.add(i);
          cursor = rsp.cursor;
          if (cursor === null) break;
        }
        expect(cursor).toBeNull();
        expect(served.size).toBe(3);
        expect(seen).toEqual(new Set(keys));
      });

      /** Sends one request through every node at once; each node's elements. */
      async function raceV2(
        command: string,
        body: unknown,
        options: Record<string, unknown>,
      ): Promise<Elements[]> {
        const answers = await Promise.all(
          v2.map((client) => client.request(++ids, command, body, options)),
        );
        return answers.map((answer) => answer[`${command}_RSP`] as Elements);
      }

      test(`KV_ADD with a ttl of a fresh key through all nodes: exactly one 20, ${V2_ROUNDS} rounds`, async () => {
        for (let round = 0; round < V2_ROUNDS; round++) {
          const key = `v2add:${crypto.randomUUID()}`;
          const answers = await raceV2("KV_ADD", { [key]: round }, { ttl: 60_000 });
          for (const answer of answers) expect(answer.map((e) => e.k)).toEqual([key]);
          expect(tally(answers.map((answer) => answer[0]?.st ?? -1))).toEqual([20, 23, 23]);
        }
      });

      test(`KV_SET with a ttl of a fresh key through all nodes: exactly one 20, ${V2_ROUNDS} rounds`, async () => {
        for (let round = 0; round < V2_ROUNDS; round++) {
          const key = `v2set:${crypto.randomUUID()}`;
          const answers = await raceV2("KV_SET", { [key]: round }, { ttl: 60_000 });
          for (const answer of answers) expect(answer.map((e) => e.k)).toEqual([key]);
          expect(tally(answers.map((answer) => answer[0]?.st ?? -1))).toEqual([20, 21, 21]);
          if (round % 10 === 0) {
            expect((await ttlThrough(round % 3, key))?.ttl as number).toBeGreaterThan(50_000);
          }
        }
      });

      test(`KV_ADDQ with a ttl and an id through all nodes: one [] and two 23s, ${V2_ROUNDS} rounds`, async () => {
        for (let round = 0; round < V2_ROUNDS; round++) {
          const key = `v2addq:${crypto.randomUUID()}`;
          const answers = await raceV2("KV_ADDQ", { [key]: round }, { ttl: 60_000 });
          const sorted = answers.map((a) => JSON.stringify(a)).sort();
          expect(sorted).toEqual([
            "[]",
            JSON.stringify([{ k: key, st: 23 }]),
            JSON.stringify([{ k: key, st: 23 }]),
          ]);
        }
      });

      test("a key that expired is added again by exactly one of the nodes racing for it", async () => {
        for (let round = 0; round < 10; round++) {
          const key = `v2again:${crypto.randomUUID()}`;
          await elements(round % 3, "KV_SET", { [key]: 0 }, { ttl: 20 });
          await Bun.sleep(35);
          const answers = await raceV2("KV_ADD", { [key]: round }, { ttl: 60_000 });
          expect(tally(answers.map((answer) => answer[0]?.st ?? -1))).toEqual([20, 23, 23]);
        }
      });
    });

    test("KV_COUNT agrees on every node and KV_CLEAR through one node empties what the others see", async () => {
      await client(0).ask({ KV_CLEAR: {} });
      const keys = Array.from({ length: 30 }, (_, i) => `count:${i}:${crypto.randomUUID()}`);
      await client(1).ask({ KV_SET: Object.fromEntries(keys.map((k) => [k, 1])) }, keys.length);
      for (const client of clients) {
        expect(await client.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: 30 } }]);
      }
      expect(await client(2).ask({ KV_CLEAR: {} })).toEqual([{ KV_CLEAR_RSP: { st: 1, cnt: 30 } }]);
      for (const client of clients) {
        expect(await client.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: 0 } }]);
        expect(await client.ask({ KV_CONTAINS: [keys[0]] })).toEqual([
          { KV_CONTAINS_RSP: { st: 22, k: keys[0] } },
        ]);
      }
    });
  });
}
