import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TestClient } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";

type Rsp = Record<string, { st: number; k?: string; cnt?: number } & Record<string, unknown>>;

const ROUNDS = 200;

/**
 * Three kvfleet nodes on one shared store: every status stays exact as if
 * there were one server. `storeArgs` gives the flags that point a node at the
 * store. The suite needs no empty store: each test uses keys of its own, and
 * the count test clears the store first. The nodes run in this process, each
 * with its own store client, as three processes would; the statuses come from
 * the shared store, not from the nodes.
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
