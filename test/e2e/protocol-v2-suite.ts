import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { VERSION } from "../../src/version.ts";
import { APPEND_COMBINED, APPEND_MISMATCHED } from "../support/append-cases.ts";
import { TestClient } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { RawClient, selectedProtocols } from "../support/raw-client.ts";

/** Commands whose body is an object of key -> value (KV_EXPIRE: key -> ms). */
const OBJECT_BODY = ["KV_SET", "KV_SETQ", "KV_ADD", "KV_ADDQ", "KV_APPEND", "KV_EXPIRE"] as const;
/** Commands whose body is an array of keys. */
const ARRAY_BODY = ["KV_GET", "KV_RMV", "KV_CONTAINS", "KV_PERSIST", "KV_TTL"] as const;
/** Commands whose body is an object without keys. */
const WHOLE_BODY = ["KV_COUNT", "KV_CLEAR", "KV_SERVER_INFO", "KV_KEYS"] as const;
/** The only commands that take the `ttl` option. */
const TTL_COMMANDS = ["KV_SET", "KV_SETQ", "KV_ADD", "KV_ADDQ"] as const;
const WRONG_FOR_OBJECT = ["[]", '["x"]', '"x"', "1", "null", "true"];
const WRONG_FOR_ARRAY = ["{}", '{"x":1}', '"x"', "1", "null", "false"];
/** The commands of version 2 that version 1 lacks. */
const V2_ONLY = ["KV_EXPIRE", "KV_PERSIST", "KV_TTL", "KV_KEYS", "KV_WATCH", "KV_UNWATCH"];
/** The longest ttl and KV_EXPIRE ms: ten years. */
const MAX_TTL = 315_360_000_000;
/** ttl and ms values that are not whole numbers from 1 to MAX_TTL, as JSON text. */
const BAD_MS = [
  "0",
  "-1",
  "1.5",
  "-0",
  "315360000001",
  "1e400",
  '"1000"',
  "null",
  "true",
  "[]",
  "{}",
];
/** Whole numbers in range written in other forms (v2-decisions 5). */
const GOOD_MS = ["1000", "1e3", "1000.0", "10E2", "3.1536e11", String(MAX_TTL)];

/** An answer's KV_ERR, parsed. */
interface Err {
  id?: unknown;
  KV_ERR: { st: number; m: string };
}

/**
 * Protocol v2 (shared/protocol-v2.md and shared-notes/v2-decisions.md), every
 * rule of requests and answers, over real WebSockets to a node in this
 * process. The same suite runs on the memory store, one Redis and a Redis
 * Cluster: `storeArgs` points the node at the store. `failing` gives the
 * flags of a second node whose store fails: its writes answer 100, and so do
 * its reads and whole-store commands when `everything` (an unreachable Redis).
 * Tests use keys of their own; the whole-store test clears the store.
 */
export function protocolV2Suite(
  name: string,
  storeArgs: () => string[],
  failing: { args: () => string[]; everything: boolean },
): void {
  describe(`protocol v2 on ${name}`, () => {
    let node: TestNode;
    /** A connection that negotiated kvfleet.v2. */
    let v2: TestClient;
    /** A connection that offered no subprotocol: version 1. */
    let v1: TestClient;
    let serial = 0;
    /** A key no other test uses. */
    const fresh = (label = "k") => `${label}-${++serial}-${crypto.randomUUID().slice(0, 8)}`;
    const host = () => new URL(node.url).hostname;

    beforeAll(async () => {
      node = startNode(["--max-payload=65536", ...storeArgs()]);
      [v2, v1] = await Promise.all([
        TestClient.open(node.url, { protocols: "kvfleet.v2" }),
        TestClient.open(node.url),
      ]);
    });
    afterAll(async () => {
      v2?.close();
      v1?.close();
      await node?.stop();
    });

    /** Sends raw text on the v2 connection; its one answer, raw. */
    async function ask(text: string | Uint8Array): Promise<string> {
      v2.send(text);
      return v2.nextText();
    }

    /** Sends raw text on the v1 connection; its `n` answers, raw. */
    async function askV1(text: string, n = 1): Promise<string[]> {
      v1.send(text);
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(await v1.nextText());
      return out;
    }

    let probes = 0;
    /** Proves that `text` got no answer on the v2 connection: the next answer is a later probe's. */
    async function expectSilence(text: string): Promise<void> {
      const id = `probe-${++probes}`;
      v2.send(text);
      v2.send(`{"id":"${id}","KV_COUNT":{}}`);
      expect(await v2.nextText()).toStartWith(`{"id":"${id}","KV_COUNT_RSP":{"st":1,"cnt":`);
    }

    const tok = (key: string) => JSON.stringify(key);
    /** `{"k":key,"st":st}` */
    const el = (key: string, st: number) => `{"k":${tok(key)},"st":${st}}`;
    /** `{"k":key,"st":1,"v":value}` */
    const found = (key: string, value: string) => `{"k":${tok(key)},"st":1,"v":${value}}`;
    /** A per-key answer: `{"id":id,"<CMD>_RSP":[elements]}`; `id` is the raw token, or absent. */
    const frame = (command: string, elements: string[], id?: string) =>
      `{${id === undefined ? "" : `"id":${id},`}"${command}_RSP":[${elements.join(",")}]}`;

    /**
     * Asserts that `text` is a KV_ERR answer with status `st`: with the raw `id`
     * token first when given, none otherwise; `m` exactly `exact`, or mentioning `mentions`.
     */
    function expectErr(
      text: string,
      st: number,
      { id, exact, mentions }: { id?: string; exact?: string; mentions?: string } = {},
    ): void {
      expect(text).toStartWith(
        `{${id === undefined ? "" : `"id":${id},`}"KV_ERR":{"st":${st},"m":`,
      );
      const answer = JSON.parse(text) as Err;
      expect(Object.keys(answer)).toEqual(id === undefined ? ["KV_ERR"] : ["id", "KV_ERR"]);
      expect(Object.keys(answer.KV_ERR)).toEqual(["st", "m"]);
      expect(typeof answer.KV_ERR.m).toBe("string");
      if (exact !== undefined) expect(answer.KV_ERR.m).toBe(exact);
      if (mentions !== undefined) expect(answer.KV_ERR.m).toContain(mentions);
    }

    /** Stores `value` (JSON text) under `key` on the v2 connection, with `ttl` when given. */
    async function put(key: string, value: string, ttl?: number): Promise<string> {
      return ask(`{"KV_SET":{${tok(key)}:${value}}${ttl === undefined ? "" : `,"ttl":${ttl}`}}`);
    }
    const get = (key: string) => ask(`{"KV_GET":[${tok(key)}]}`);
    /** The ms left of `key` as KV_TTL answers it: a number, null, or the status when not 1. */
    async function ttlOf(key: string): Promise<number | null | { st: number }> {
      const text = await ask(`{"KV_TTL":[${tok(key)}]}`);
      const [element] = (JSON.parse(text) as { KV_TTL_RSP: { st: number; ttl?: number | null }[] })
        .KV_TTL_RSP;
      if (element?.st !== 1) return { st: element?.st ?? -1 };
      expect(text).toStartWith(`{"KV_TTL_RSP":[{"k":${tok(key)},"st":1,"ttl":`);
      return element.ttl ?? null;
    }
    interface Page {
      st: number;
      keys: string[];
      cursor: string | null;
    }
    /** One KV_KEYS call with `body` (members as JSON text); its answer, checked for shape. */
    async function page(body: Record<string, unknown>, id = 1): Promise<Page> {
      const text = await ask(JSON.stringify({ id, KV_KEYS: body }));
      expect(text).toStartWith(`{"id":${id},"KV_KEYS_RSP":{"st":1,"keys":[`);
      const rsp = (JSON.parse(text) as { KV_KEYS_RSP: Page }).KV_KEYS_RSP;
      expect(Object.keys(rsp)).toEqual(["st", "keys", "cursor"]);
      expect(rsp.cursor === null || typeof rsp.cursor === "string").toBe(true);
      return rsp;
    }
    /** Every key of a listing of `prefix`, page by page, and the pages' sizes. */
    async function listAll(prefix: string, limit?: number) {
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      for (let n = 0; n < 2000; n++) {
        const body: Record<string, unknown> = { prefix };
        if (limit !== undefined) body.limit = limit;
        if (cursor !== null) body.cursor = cursor;
        const result = await page(body);
        seen.push(...result.keys);
        sizes.push(result.keys.length);
        if (result.cursor === null) return { seen, sizes };
        cursor = result.cursor;
      }
      throw new Error("the listing never ended");
    }
    /** Waits until `ms` have passed since `since` (performance.now()), and a little more. */
    const until = (since: number, ms: number) =>
      Bun.sleep(Math.max(0, since + ms + 15 - performance.now()));

    describe("negotiation", () => {
      const port = () => new URL(node.url).port;
      /** A raw upgrade offering `offer` as the Sec-WebSocket-Protocol header; "" offers none. */
      const rawOffer = (offer: string, path = "/") =>
        RawClient.open(
          host(),
          Number(port()),
          offer === "" ? "" : `Sec-WebSocket-Protocol: ${offer}\r\n`,
          { path, keepTexts: true },
        );
      /** Asserts a raw connection speaks version 1, and closes it. */
      async function expectV1(raw: RawClient): Promise<void> {
        raw.sendText('{"id":1,"KV_COUNT":{}}');
        expect(await raw.nextText()).toBe('{"KV_ERR":{"st":11,"m":""}}');
        raw.sendText('{"KV_SERVER_INFO":{}}');
        const info = await raw.nextText();
        expect(JSON.parse(info)).toEqual({
          KV_SERVER_INFO_RSP: { st: 1, qryCnt: expect.any(Number), version: VERSION },
        });
        raw.sendText('{"KV_TTL":["a"]}');
        expect(await raw.nextText()).toBe('{"KV_ERR":{"st":10,"m":"KV_TTL"}}');
        raw.socket.destroy();
      }
      /** Asserts a raw connection speaks version 2, and closes it. */
      async function expectV2(raw: RawClient): Promise<void> {
        raw.sendText('{"id":1,"KV_GET":[]}');
        expect(await raw.nextText()).toBe('{"id":1,"KV_GET_RSP":[]}');
        raw.socket.destroy();
      }

      test("an offer of kvfleet.v2 is selected in the 101, and the connection speaks v2", async () => {
        expect(v2.protocol).toBe("kvfleet.v2");
        const raw = await rawOffer("kvfleet.v2");
        expect(selectedProtocols(raw.head)).toEqual(["kvfleet.v2"]);
        await expectV2(raw);
        expect(await ask('{"id":"n","KV_CONTAINS":[]}')).toBe('{"id":"n","KV_CONTAINS_RSP":[]}');
      });

      test("no offer: no protocol selected, version 1", async () => {
        expect(v1.protocol).toBe("");
        const raw = await rawOffer("");
        expect(selectedProtocols(raw.head)).toEqual([]);
        await expectV1(raw);
      });

      // Bun's and browsers' clients fail a 101 that selects none of their offers: a raw client.
      test.each([
        "kvfleet.v9",
        "foo, bar",
        "kvfleet.v1",
        "KVFLEET.V2",
        "kvfleet.V2",
        "kvfleet.v2x",
        "xkvfleet.v2",
        "kvfleet.v2.0",
        "kvfleet",
      ])("an offer of %p selects no protocol (no header in the 101), version 1", async (offer) => {
        const raw = await rawOffer(offer);
        expect(raw.head).toStartWith("HTTP/1.1 101");
        expect(selectedProtocols(raw.head)).toEqual([]);
        await expectV1(raw);
      });

      test.each([
        "kvfleet.v9, kvfleet.v2",
        "kvfleet.v2, kvfleet.v9",
        "foo, kvfleet.v2, bar",
        "foo,kvfleet.v2",
        "kvfleet.v1, kvfleet.v2",
      ])("an offer of %p selects kvfleet.v2", async (offer) => {
        const raw = await rawOffer(offer);
        expect(selectedProtocols(raw.head)).toEqual(["kvfleet.v2"]);
        await expectV2(raw);
      });

      test("an offer split over two header lines is one list (RFC 6455 11.3.4)", async () => {
        const raw = await RawClient.open(
          host(),
          Number(port()),
          "Sec-WebSocket-Protocol: foo\r\nSec-WebSocket-Protocol: kvfleet.v2\r\n",
          { keepTexts: true },
        );
        expect(selectedProtocols(raw.head)).toEqual(["kvfleet.v2"]);
        await expectV2(raw);
      });

      test("Bun's client offering kvfleet.v9 and kvfleet.v2 gets kvfleet.v2", async () => {
        const client = await TestClient.open(node.url, { protocols: ["kvfleet.v9", "kvfleet.v2"] });
        expect(client.protocol).toBe("kvfleet.v2");
        expect(await client.request(5, "KV_GET", [])).toEqual({ id: 5, KV_GET_RSP: [] });
        client.close();
      });

      test("the same path and port; a v1 and a v2 connection of one node share the store", async () => {
        const key = fresh();
        expect(await askV1(`{"KV_SET":{${tok(key)}:[1]}}`)).toEqual([
          `{"KV_SET_RSP":{"st":20,"k":${tok(key)}}}`,
        ]);
        expect(await get(key)).toBe(frame("KV_GET", [found(key, "[1]")]));
      });
    });

    describe("request ids", () => {
      test.each([
        '"a"',
        '"req-1"',
        '"a\\u0062"',
        '"\\ud83d\\ude00"',
        '"\\""',
        '" "',
        `"${"x".repeat(64)}"`,
        `"${"é".repeat(64)}"`,
        `"${"😀".repeat(64)}"`,
        `"${"\\u0041".repeat(64)}"`,
        "0",
        "7",
        "1987",
        "9007199254740991",
      ])("id %s is echoed exactly as written, first", async (id) => {
        expect(await ask(`{"id":${id},"KV_GET":[]}`)).toBe(`{"id":${id},"KV_GET_RSP":[]}`);
        expect(await ask(`{"KV_CONTAINS":[],"id":${id}}`)).toBe(
          `{"id":${id},"KV_CONTAINS_RSP":[]}`,
        );
      });

      test("whitespace around the id does not reach the echo", async () => {
        expect(await ask(' { "id" : 42 , "KV_GET" : [ ] } ')).toBe('{"id":42,"KV_GET_RSP":[]}');
      });

      test.each([
        "null",
        "true",
        "false",
        "{}",
        '{"id":1}',
        "[]",
        "[1]",
        '""',
        `"${"x".repeat(65)}"`,
        `"${"😀".repeat(65)}"`,
        `"${"\\u0041".repeat(65)}"`,
        "-1",
        "-0",
        "1.5",
        "1.0",
        "0.0",
        "1e3",
        "1E3",
        "9007199254740992",
        "18446744073709551617",
      ])("id %s is 3 mentioning id, with no id in the answer", async (id) => {
        expectErr(await ask(`{"id":${id},"KV_GET":[]}`), 3, { mentions: "id" });
        expectErr(await ask(`{"KV_COUNT":{},"id":${id}}`), 3, { mentions: "id" });
      });

      test("a repeated id member is 3 mentioning id, even with the same value twice", async () => {
        expectErr(await ask('{"id":1,"id":2,"KV_COUNT":{}}'), 3, { mentions: "id" });
        expectErr(await ask('{"id":1,"KV_COUNT":{},"id":1}'), 3, { mentions: "id" });
        expectErr(await ask('{"id":"a","id":"a","KV_GET":[]}'), 3, { mentions: "id" });
      });

      test("an invalid id means the command is not executed", async () => {
        const key = fresh();
        expectErr(await ask(`{"id":-1,"KV_SET":{${tok(key)}:1}}`), 3, { mentions: "id" });
        expect(await get(key)).toBe(frame("KV_GET", [el(key, 22)]));
      });

      test("answers to pipelined requests come in request order, each with its id", async () => {
        const key = fresh();
        const requests = [
          `{"id":1,"KV_ADD":{${tok(key)}:[1]}}`,
          `{"id":"two","KV_APPEND":{${tok(key)}:[2]}}`,
          "not json",
          `{"KV_GET":[${tok(key)}],"id":3}`,
          `{"id":4,"KV_SETQ":{${tok(key)}:[3]}}`,
          `{"KV_SETQ":{${tok(key)}:[4]}}`,
          `{"id":5,"KV_RMV":[${tok(key)},${tok(key)}]}`,
          `{"id":6}`,
        ];
        for (const request of requests) v2.send(request);
        const answers: string[] = [];
        for (let i = 0; i < 7; i++) answers.push(await v2.nextText());
        expect(answers[0]).toBe(frame("KV_ADD", [el(key, 20)], "1"));
        expect(answers[1]).toBe(frame("KV_APPEND", [el(key, 1)], '"two"'));
        expectErr(answers[2] as string, 3);
        expect(answers[3]).toBe(frame("KV_GET", [found(key, "[1,2]")], "3"));
        expect(answers[4]).toBe(frame("KV_SETQ", [], "4"));
        expect(answers[5]).toBe(frame("KV_RMV", [el(key, 24), el(key, 22)], "5"));
        expectErr(answers[6] as string, 10, { id: "6", exact: "" });
      });
    });

    describe("which error wins", () => {
      test("a binary frame is 2, whatever it holds, and the connection stays open", async () => {
        for (const bytes of ['{"id":1,"KV_COUNT":{}}', '{"id":-1}', "x", ""]) {
          expect(await ask(new TextEncoder().encode(bytes))).toBe(
            '{"KV_ERR":{"st":2,"m":"binary frames are not accepted"}}',
          );
        }
        expect(await ask('{"id":1,"KV_GET":[]}')).toBe('{"id":1,"KV_GET_RSP":[]}');
      });

      test.each([
        '{"id":1,"KV_GET":[}',
        '{"id":1,"KV_GET":["a",]}',
        '{"id":1,"KV_COUNT":{}} x',
        '{"id":1,',
        "{'id':1,'KV_COUNT':{}}",
        '{"id":01,"KV_COUNT":{}}',
        '{"id":1,"KV_SET":{"a":NaN},"ttl":0}',
        "",
      ])("invalid JSON %p is 3 without an id, even with a readable id", async (text) => {
        expectErr(await ask(text), 3);
      });

      test.each(['[{"id":1,"KV_COUNT":{}}]', '"KV_COUNT"', "7", "null", "true"])(
        "JSON that is not an object, %p, is 3 without an id",
        async (text) => {
          expectErr(await ask(text), 3);
        },
      );

      test("the id before the member count, the name, the body type and the options", async () => {
        expectErr(await ask('{"id":-1,"KV_GET":[],"KV_SET":{}}'), 3, { mentions: "id" });
        expectErr(await ask('{"id":null,"KV_NOPE":1}'), 3, { mentions: "id" });
        expectErr(await ask('{"id":1.5}'), 3, { mentions: "id" });
        expectErr(await ask('{"id":"","KV_GET":{}}'), 3, { mentions: "id" });
        expectErr(await ask('{"id":[],"KV_SET":{"a":1},"ttl":0}'), 3, { mentions: "id" });
        expectErr(await ask('{"id":true,"KV_GET":["a"],"ttl":5}'), 3, { mentions: "id" });
      });

      test("nothing besides the id is 10 with m empty, and the id", async () => {
        expect(await ask('{"id":1}')).toBe('{"id":1,"KV_ERR":{"st":10,"m":""}}');
        expect(await ask(' { "id" : "x" } ')).toBe('{"id":"x","KV_ERR":{"st":10,"m":""}}');
        expect(await ask("{}")).toBe('{"KV_ERR":{"st":10,"m":""}}');
      });

      test("the member count before the name and the body type: 11 with the id", async () => {
        for (const text of [
          '{"id":1,"KV_NOPE":1,"KV_GET":{}}',
          '{"id":1,"KV_COUNT":{},"KV_COUNT":{}}',
          '{"id":1,"KV_GET":["a"],"x":[]}',
          '{"id":1,"KV_SET":[],"ttl":5,"ttl":5}',
        ]) {
          expectErr(await ask(text), 11, { id: "1" });
        }
        expectErr(await ask('{"KV_SET":{"a":1},"KV_GET":["a"]}'), 11);
      });

      test("an unknown command is 10 naming it, with the id", async () => {
        for (const name of ["KV_NOPE", "kv_get", "KV_SET_RSP", "KV_ERR", "KV_EVENT", "id ", ""]) {
          expect(await ask(`{"id":2,${tok(name)}:{}}`)).toBe(
            `{"id":2,"KV_ERR":{"st":10,"m":${tok(name)}}}`,
          );
        }
        expect(await ask('{"KV_NOPE":null}')).toBe('{"KV_ERR":{"st":10,"m":"KV_NOPE"}}');
      });

      test("ttl alone is a command named ttl: 10 naming it", async () => {
        expect(await ask('{"ttl":5}')).toBe('{"KV_ERR":{"st":10,"m":"ttl"}}');
        expect(await ask('{"id":3,"ttl":5}')).toBe('{"id":3,"KV_ERR":{"st":10,"m":"ttl"}}');
      });

      test("ttl with an unknown command is 11", async () => {
        expectErr(await ask('{"id":3,"KV_NOPE":{},"ttl":5}'), 11, { id: "3" });
      });

      test.each([
        "KV_GET",
        "KV_APPEND",
        "KV_RMV",
        "KV_CONTAINS",
        "KV_EXPIRE",
        "KV_PERSIST",
        "KV_TTL",
        "KV_KEYS",
        "KV_COUNT",
        "KV_CLEAR",
        "KV_SERVER_INFO",
      ])("ttl on %s, which has no options, is 11 and nothing runs", async (command) => {
        const key = fresh();
        await put(key, "[0]");
        const body = OBJECT_BODY.includes(command as never)
          ? `{${tok(key)}:${command === "KV_EXPIRE" ? 100 : "[1]"}}`
          : ARRAY_BODY.includes(command as never)
            ? `[${tok(key)}]`
            : "{}";
        expectErr(await ask(`{"id":"t","${command}":${body},"ttl":1000}`), 11, { id: '"t"' });
        expectErr(await ask(`{"ttl":1000,"${command}":${body}}`), 11);
        expect(await get(key)).toBe(frame("KV_GET", [found(key, "[0]")]));
        expect(await ttlOf(key)).toBeNull();
      });

      test.each(TTL_COMMANDS)("a repeated ttl on %s is 11 and nothing runs", async (command) => {
        const key = fresh();
        expectErr(await ask(`{"id":8,"${command}":{${tok(key)}:1},"ttl":500,"ttl":500}`), 11, {
          id: "8",
        });
        expect(await get(key)).toBe(frame("KV_GET", [el(key, 22)]));
      });

      test("the name before the body type; the body type before the options", async () => {
        expect(await ask('{"id":1,"KV_NOPE":[]}')).toBe(
          '{"id":1,"KV_ERR":{"st":10,"m":"KV_NOPE"}}',
        );
        expectErr(await ask('{"id":1,"KV_SET":[],"ttl":0}'), 12, { id: "1", mentions: "KV_SET" });
        expectErr(await ask('{"KV_ADD":"x","ttl":"x"}'), 12, { mentions: "KV_ADD" });
      });

      test("the options before any key: a bad ttl writes nothing", async () => {
        const [a, b] = [fresh("a"), fresh("b")];
        expectErr(await ask(`{"id":1,"KV_SET":{${tok(a)}:1,${tok(b)}:2},"ttl":0}`), 12, {
          id: "1",
          mentions: "ttl",
        });
        expect(await ask(`{"KV_GET":[${tok(a)},${tok(b)}]}`)).toBe(
          frame("KV_GET", [el(a, 22), el(b, 22)]),
        );
      });
    });

    describe("a body of the wrong type is KV_ERR 12 naming the command", () => {
      for (const command of OBJECT_BODY) {
        test.each(WRONG_FOR_OBJECT)(`${command} with %p`, async (body) => {
          expectErr(await ask(`{"id":9,"${command}":${body}}`), 12, {
            id: "9",
            mentions: command,
          });
          expectErr(await ask(`{"${command}":${body}}`), 12, { mentions: command });
        });
      }
      for (const command of ARRAY_BODY) {
        test.each(WRONG_FOR_ARRAY)(`${command} with %p`, async (body) => {
          expectErr(await ask(`{"id":"b","${command}":${body}}`), 12, {
            id: '"b"',
            mentions: command,
          });
          expectErr(await ask(`{"${command}":${body}}`), 12, { mentions: command });
        });
      }
      for (const command of WHOLE_BODY) {
        test.each(WRONG_FOR_OBJECT)(`${command} with %p`, async (body) => {
          expectErr(await ask(`{"id":0,"${command}":${body}}`), 12, {
            id: "0",
            mentions: command,
          });
        });
      }
    });

    describe("ttl: whole numbers from 1 to ten years", () => {
      for (const command of TTL_COMMANDS) {
        test.each(BAD_MS)(
          `${command} with ttl %s is KV_ERR 12 naming ttl; nothing written`,
          async (ttl) => {
            const key = fresh();
            expectErr(await ask(`{"id":1,"${command}":{${tok(key)}:1},"ttl":${ttl}}`), 12, {
              id: "1",
              mentions: "ttl",
            });
            // Without an id, a quiet command's failure is answered too.
            expectErr(await ask(`{"${command}":{${tok(key)}:1},"ttl":${ttl}}`), 12, {
              mentions: "ttl",
            });
            expect(await get(key)).toBe(frame("KV_GET", [el(key, 22)]));
          },
        );
      }

      test.each(GOOD_MS)("ttl %s is accepted", async (ttl) => {
        const key = fresh();
        expect(await ask(`{"id":1,"KV_SET":{${tok(key)}:1},"ttl":${ttl}}`)).toBe(
          frame("KV_SET", [el(key, 20)], "1"),
        );
        const left = await ttlOf(key);
        expect(typeof left).toBe("number");
        expect(left as number).toBeLessThanOrEqual(Number(ttl));
        expect(left as number).toBeGreaterThan(Number(ttl) - 2000);
      });
    });

    describe("per-key commands: one frame, one element per key in body order", () => {
      test("KV_SET: 20 for new keys, 21 for existing, in the body's order", async () => {
        const [a, b, c] = [fresh("a"), fresh("b"), fresh("c")];
        await put(b, "0");
        expect(await ask(`{"id":1,"KV_SET":{${tok(c)}:1,${tok(a)}:2,${tok(b)}:3}}`)).toBe(
          frame("KV_SET", [el(c, 20), el(a, 20), el(b, 21)], "1"),
        );
        expect(await ask(`{"KV_SET":{${tok(a)}:{"v":2}}}`)).toBe(frame("KV_SET", [el(a, 21)]));
        expect(await get(a)).toBe(frame("KV_GET", [found(a, '{"v":2}')]));
      });

      test("a repeated member name of an object body counts once, with its last value", async () => {
        const [a, b] = [fresh("a"), fresh("b")];
        expect(await ask(`{"KV_SET":{${tok(a)}:1,${tok(b)}:1,${tok(a)}:[2]}}`)).toBe(
          frame("KV_SET", [el(a, 20), el(b, 20)]),
        );
        expect(await get(a)).toBe(frame("KV_GET", [found(a, "[2]")]));
        expect(await ask(`{"id":2,"KV_ADD":{${tok(a)}:1,${tok(a)}:2}}`)).toBe(
          frame("KV_ADD", [el(a, 23)], "2"),
        );
      });

      test("a repeated key of an array body is processed twice", async () => {
        const key = fresh();
        await put(key, "1");
        expect(await ask(`{"id":1,"KV_RMV":[${tok(key)},${tok(key)}]}`)).toBe(
          frame("KV_RMV", [el(key, 24), el(key, 22)], "1"),
        );
        await put(key, "1");
        expect(await ask(`{"KV_CONTAINS":[${tok(key)},${tok(key)}]}`)).toBe(
          frame("KV_CONTAINS", [el(key, 23), el(key, 23)]),
        );
      });

      test("k is the key as the client wrote it, escapes kept", async () => {
        const id = crypto.randomUUID();
        const written = `"a\\u0062-${id}"`;
        expect(await ask(`{"KV_SET":{${written}:1}}`)).toBe(
          `{"KV_SET_RSP":[{"k":${written},"st":20}]}`,
        );
        expect(await ask(`{"KV_CONTAINS":["ab-${id}"]}`)).toBe(
          `{"KV_CONTAINS_RSP":[{"k":"ab-${id}","st":23}]}`,
        );
        expect(await ask(`{"KV_GET":[${written}]}`)).toBe(
          `{"KV_GET_RSP":[{"k":${written},"st":1,"v":1}]}`,
        );
      });

      test("KV_ADD: 20 when added, 23 when it existed and keeps its value", async () => {
        const [a, b] = [fresh("a"), fresh("b")];
        expect(await ask(`{"KV_ADD":{${tok(a)}:"old"}}`)).toBe(frame("KV_ADD", [el(a, 20)]));
        expect(await ask(`{"id":1,"KV_ADD":{${tok(a)}:"new",${tok(b)}:"b"}}`)).toBe(
          frame("KV_ADD", [el(a, 23), el(b, 20)], "1"),
        );
        expect(await ask(`{"KV_GET":[${tok(a)},${tok(b)}]}`)).toBe(
          frame("KV_GET", [found(a, '"old"'), found(b, '"b"')]),
        );
      });

      test("KV_GET: k, st 1 and v for found keys (exact), 22 for missing ones", async () => {
        const [a, b, missing] = [fresh("a"), fresh("b"), fresh("missing")];
        const value = '{"10":"ten","2":[18446744073709551617,0.1,1e400,"\\u00e9"],"a":{}}';
        await put(a, value);
        await put(b, "null");
        expect(await ask(`{"id":"g","KV_GET":[${tok(missing)},${tok(a)},${tok(b)}]}`)).toBe(
          frame("KV_GET", [el(missing, 22), found(a, value), found(b, "null")], '"g"'),
        );
      });

      test.each(["st", "k", "v", "id", "KV_GET_RSP"])(
        "a key named %p reads back like any other",
        async (key) => {
          await ask(`{"KV_RMV":[${tok(key)}]}`);
          expect(await put(key, '"value"')).toBe(frame("KV_SET", [el(key, 20)]));
          expect(await get(key)).toBe(`{"KV_GET_RSP":[{"k":"${key}","st":1,"v":"value"}]}`);
          expect(await ask(`{"KV_RMV":[${tok(key)}]}`)).toBe(frame("KV_RMV", [el(key, 24)]));
        },
      );

      test('array elements that are not strings are {"st":26} in place; the others still run', async () => {
        const key = fresh();
        await put(key, "true");
        expect(await ask(`{"id":1,"KV_GET":[1,${tok(key)},null,{},[],true,${tok(key)}]}`)).toBe(
          frame(
            "KV_GET",
            [
              '{"st":26}',
              found(key, "true"),
              '{"st":26}',
              '{"st":26}',
              '{"st":26}',
              '{"st":26}',
              found(key, "true"),
            ],
            "1",
          ),
        );
        expect(await ask(`{"KV_CONTAINS":[false,${tok(key)}]}`)).toBe(
          frame("KV_CONTAINS", ['{"st":26}', el(key, 23)]),
        );
        expect(await ask(`{"KV_RMV":[${tok(key)},7,${tok(key)}]}`)).toBe(
          frame("KV_RMV", [el(key, 24), '{"st":26}', el(key, 22)]),
        );
        expect(await ask('{"KV_PERSIST":[0]}')).toBe(frame("KV_PERSIST", ['{"st":26}']));
        expect(await ask('{"KV_TTL":[[]]}')).toBe(frame("KV_TTL", ['{"st":26}']));
      });

      test.each(APPEND_COMBINED)("KV_APPEND %s: %s + %s", async (_, stored, added, result) => {
        const key = fresh();
        await put(key, stored);
        expect(await ask(`{"id":1,"KV_APPEND":{${tok(key)}:${added}}}`)).toBe(
          frame("KV_APPEND", [el(key, 1)], "1"),
        );
        expect(await get(key)).toBe(frame("KV_GET", [found(key, result)]));
      });

      test.each(APPEND_MISMATCHED)(
        "KV_APPEND %s + %s is 41, value untouched",
        async (stored, added) => {
          const key = fresh();
          await put(key, stored);
          expect(await ask(`{"KV_APPEND":{${tok(key)}:${added}}}`)).toBe(
            frame("KV_APPEND", [el(key, 41)]),
          );
          expect(await get(key)).toBe(frame("KV_GET", [found(key, stored)]));
        },
      );

      test("KV_APPEND: a missing key is 22 and not created, beside a key that appends", async () => {
        const [missing, present] = [fresh("missing"), fresh("present")];
        await put(present, "[0]");
        expect(await ask(`{"KV_APPEND":{${tok(missing)}:[1],${tok(present)}:[1]}}`)).toBe(
          frame("KV_APPEND", [el(missing, 22), el(present, 1)]),
        );
        expect(await ask(`{"KV_GET":[${tok(missing)},${tok(present)}]}`)).toBe(
          frame("KV_GET", [el(missing, 22), found(present, "[0,1]")]),
        );
      });

      test("a 50-key KV_SET and KV_GET answer in one frame each, in key order", async () => {
        const keys = Array.from({ length: 50 }, (_, i) => fresh(`order${i}`));
        const body = Object.fromEntries(keys.map((k, i) => [k, { i }]));
        expect(await ask(JSON.stringify({ id: 50, KV_SET: body }))).toBe(
          frame(
            "KV_SET",
            keys.map((k) => el(k, 20)),
            "50",
          ),
        );
        const reversed = [...keys].reverse();
        expect(await ask(JSON.stringify({ KV_GET: reversed }))).toBe(
          frame(
            "KV_GET",
            reversed.map((k) => found(k, `{"i":${keys.indexOf(k)}}`)),
          ),
        );
        expect(v2.unread).toBe(0);
      });
    });

    describe("bodies without keys answer []", () => {
      const empty = (command: string) =>
        OBJECT_BODY.includes(command as never) ? `{"${command}":{}}` : `{"${command}":[]}`;
      const answered = [...OBJECT_BODY, ...ARRAY_BODY].filter((c) => !c.endsWith("Q"));
      test.each(answered)("%s, with and without an id", async (command) => {
        expect(await ask(empty(command))).toBe(`{"${command}_RSP":[]}`);
        expect(await ask(`{"id":1,${empty(command).slice(1)}`)).toBe(
          `{"id":1,"${command}_RSP":[]}`,
        );
      });

      test.each(["KV_SETQ", "KV_ADDQ"])("%s: [] with an id, silent without", async (command) => {
        expect(await ask(`{"id":"q","${command}":{}}`)).toBe(`{"id":"q","${command}_RSP":[]}`);
        await expectSilence(`{"${command}":{}}`);
        await expectSilence(`{ "${command}" : { } , "ttl" : 1000 }`);
      });
    });

    describe("quiet commands", () => {
      test("KV_SETQ: silent without an id, [] with one; the values are stored", async () => {
        const [a, b] = [fresh("a"), fresh("b")];
        await expectSilence(`{"KV_SETQ":{${tok(a)}:"first"}}`);
        expect(await ask(`{"id":7,"KV_SETQ":{${tok(a)}:"second",${tok(b)}:null}}`)).toBe(
          frame("KV_SETQ", [], "7"),
        );
        expect(await ask(`{"KV_GET":[${tok(a)},${tok(b)}]}`)).toBe(
          frame("KV_GET", [found(a, '"second"'), found(b, "null")]),
        );
      });

      test("KV_ADDQ: only the keys that did not succeed, in body order, one frame", async () => {
        const [a, b, c, d] = [fresh("a"), fresh("b"), fresh("c"), fresh("d")];
        await put(a, "1");
        await put(c, "3");
        await expectSilence(`{"KV_ADDQ":{${tok(d)}:4}}`);
        expect(await ask(`{"KV_ADDQ":{${tok(a)}:9,${tok(b)}:2,${tok(c)}:9}}`)).toBe(
          frame("KV_ADDQ", [el(a, 23), el(c, 23)]),
        );
        expect(await ask(`{"id":"q","KV_ADDQ":{${tok(b)}:9,${tok(fresh())}:1}}`)).toBe(
          frame("KV_ADDQ", [el(b, 23)], '"q"'),
        );
        expect(await ask(`{"KV_GET":[${tok(a)},${tok(b)},${tok(c)},${tok(d)}]}`)).toBe(
          frame("KV_GET", [found(a, "1"), found(b, "2"), found(c, "3"), found(d, "4")]),
        );
        expect(v2.unread).toBe(0);
      });

      test("a quiet command with a ttl: silent, and the key expires", async () => {
        const [a, b] = [fresh("a"), fresh("b")];
        await expectSilence(`{"KV_SETQ":{${tok(a)}:1},"ttl":60000}`);
        expect(await ask(`{"id":1,"KV_ADDQ":{${tok(b)}:1},"ttl":60000}`)).toBe(
          frame("KV_ADDQ", [], "1"),
        );
        for (const key of [a, b]) {
          const left = await ttlOf(key);
          expect(left as number).toBeGreaterThan(50_000);
          expect(left as number).toBeLessThanOrEqual(60_000);
        }
      });
    });

    describe("when the store fails", () => {
      let broken: TestNode;
      let client: TestClient;
      beforeAll(async () => {
        broken = startNode(["--command-timeout=50", ...failing.args()]);
        client = await TestClient.open(broken.url, { protocols: "kvfleet.v2" });
      });
      afterAll(async () => {
        client?.close();
        await broken?.stop();
      });
      /** Sends every request at once (each waits out the store's timeout); their answers, in order. */
      async function pipelined(requests: string[]): Promise<string[]> {
        for (const text of requests) client.send(text);
        const answers: string[] = [];
        for (const _ of requests) answers.push(await client.nextText());
        return answers;
      }

      test("writes answer 100 per key; quiet ones list them, with or without an id", async () => {
        const answers = await pipelined([
          '{"id":1,"KV_SET":{"a":1,"b":2}}',
          '{"KV_ADD":{"a":1},"ttl":1000}',
          '{"id":2,"KV_SETQ":{"a":1,"b":2}}',
          '{"KV_ADDQ":{"c":1},"ttl":1000}',
          '{"KV_SETQ":{"d":1}}',
        ]);
        expect(answers).toEqual([
          frame("KV_SET", [el("a", 100), el("b", 100)], "1"),
          frame("KV_ADD", [el("a", 100)]),
          frame("KV_SETQ", [el("a", 100), el("b", 100)], "2"),
          frame("KV_ADDQ", [el("c", 100)]),
          frame("KV_SETQ", [el("d", 100)]),
        ]);
      });

      if (failing.everything) {
        test("whole-store commands are KV_ERR 100 with the id; per-key reads 100, 26 kept", async () => {
          const whole = ["KV_COUNT", "KV_CLEAR", "KV_KEYS"];
          const reads = ["KV_RMV", "KV_CONTAINS", "KV_TTL", "KV_PERSIST"];
          const answers = await pipelined([
            ...whole.flatMap((c) => [`{"id":"w","${c}":{}}`, `{"${c}":{}}`]),
            ...reads.map((c) => `{"${c}":["a"]}`),
            '{"id":3,"KV_GET":["a",1]}',
            '{"KV_EXPIRE":{"a":1000}}',
            '{"KV_APPEND":{"a":[1]}}',
            '{"id":1,"KV_SERVER_INFO":{}}',
          ]);
          for (const [i] of whole.entries()) {
            expectErr(answers[2 * i] as string, 100, { id: '"w"' });
            expectErr(answers[2 * i + 1] as string, 100);
          }
          expect(answers.slice(2 * whole.length, -1)).toEqual([
            ...reads.map((c) => frame(c, [el("a", 100)])),
            // A non-string element is still 26, not a store failure.
            frame("KV_GET", [el("a", 100), '{"st":26}'], "3"),
            frame("KV_EXPIRE", [el("a", 100)]),
            frame("KV_APPEND", [el("a", 100)]),
          ]);
          expect(answers.at(-1)).toStartWith('{"id":1,"KV_SERVER_INFO_RSP":{"st":1,');
        });
      }
    });

    describe("whole-store commands", () => {
      test("KV_COUNT and KV_CLEAR answer one object, with and without an id", async () => {
        await ask('{"KV_CLEAR":{}}');
        expect(await ask('{"id":1,"KV_COUNT":{}}')).toBe(
          '{"id":1,"KV_COUNT_RSP":{"st":1,"cnt":0}}',
        );
        const keys = Array.from({ length: 5 }, () => fresh());
        await ask(JSON.stringify({ KV_SET: Object.fromEntries(keys.map((k) => [k, 1])) }));
        expect(await ask('{"KV_COUNT":{"ignored":[1]}}')).toBe('{"KV_COUNT_RSP":{"st":1,"cnt":5}}');
        expect(await ask('{"id":"c","KV_CLEAR":{"members":"ignored"}}')).toBe(
          '{"id":"c","KV_CLEAR_RSP":{"st":1,"cnt":5}}',
        );
        expect(await ask('{"KV_CLEAR":{}}')).toBe('{"KV_CLEAR_RSP":{"st":1,"cnt":0}}');
        expect(await ask(`{"KV_CONTAINS":[${tok(keys[0] as string)}]}`)).toBe(
          frame("KV_CONTAINS", [el(keys[0] as string, 22)]),
        );
      });

      test("KV_SERVER_INFO on v2 carries protocols [1,2], with and without an id; not on v1", async () => {
        const withId = await ask('{"id":"i","KV_SERVER_INFO":{}}');
        expect(withId).toMatch(
          /^\{"id":"i","KV_SERVER_INFO_RSP":\{"st":1,"qryCnt":\d+,"version":"[^"]+","protocols":\[1,2\]\}\}$/,
        );
        expect(JSON.parse(withId).KV_SERVER_INFO_RSP.version).toBe(VERSION);
        expect(await ask('{"KV_SERVER_INFO":{"x":1}}')).toMatch(
          /^\{"KV_SERVER_INFO_RSP":\{"st":1,"qryCnt":\d+,"version":"[^"]+","protocols":\[1,2\]\}\}$/,
        );
        const [v1Info] = await askV1('{"KV_SERVER_INFO":{}}');
        expect(v1Info).toMatch(
          /^\{"KV_SERVER_INFO_RSP":\{"st":1,"qryCnt":\d+,"version":"[^"]+"\}\}$/,
        );
      });

      test("qryCnt counts every request, v1 and v2, answered or not", async () => {
        const count = (text: string) => JSON.parse(text).KV_SERVER_INFO_RSP.qryCnt as number;
        const before = count(await ask('{"id":1,"KV_SERVER_INFO":{}}'));
        await askV1('{"KV_COUNT":{}}');
        v2.send(new Uint8Array([1]));
        v2.send('{"id":-1,"KV_COUNT":{}}');
        v2.send(`{"KV_SETQ":{${tok(fresh())}:1}}`);
        v2.send('{"id":2}');
        await v2.take(3);
        const after = count(await ask('{"id":3,"KV_SERVER_INFO":{}}'));
        expect(after).toBe(before + 6);
      });
    });

    describe("expiry", () => {
      /** Short enough to keep the suite fast, long enough for the checks before it ends. */
      const SHORT = 300;

      test("ttl on KV_SET, KV_SETQ, KV_ADD and KV_ADDQ: read until it passes, then missing", async () => {
        const [a, b, c, d] = [fresh("set"), fresh("setq"), fresh("add"), fresh("addq")];
        expect(await ask(`{"id":1,"KV_SET":{${tok(a)}:[1]},"ttl":${SHORT}}`)).toBe(
          frame("KV_SET", [el(a, 20)], "1"),
        );
        await expectSilence(`{"KV_SETQ":{${tok(b)}:[1]},"ttl":${SHORT}}`);
        expect(await ask(`{"ttl":${SHORT},"KV_ADD":{${tok(c)}:[1]}}`)).toBe(
          frame("KV_ADD", [el(c, 20)]),
        );
        expect(await ask(`{"id":2,"KV_ADDQ":{${tok(d)}:[1]},"ttl":${SHORT}}`)).toBe(
          frame("KV_ADDQ", [], "2"),
        );
        // Every write was applied before its answer came: the last expires by then + SHORT.
        const written = performance.now();
        const all = [a, b, c, d].map(tok).join(",");
        expect(await ask(`{"KV_GET":[${all}]}`)).toBe(
          frame(
            "KV_GET",
            [a, b, c, d].map((k) => found(k, "[1]")),
          ),
        );
        for (const key of [a, b, c, d]) {
          const left = await ttlOf(key);
          expect(typeof left).toBe("number");
          expect(left as number).toBeGreaterThan(0);
          expect(left as number).toBeLessThanOrEqual(SHORT);
        }
        await until(written, SHORT);
        expect(await ask(`{"KV_GET":[${all}]}`)).toBe(
          frame(
            "KV_GET",
            [a, b, c, d].map((k) => el(k, 22)),
          ),
        );
      });

      test("an expired key behaves as missing for every command", async () => {
        const names = ["get", "contains", "ttl", "append", "rmv", "expire", "persist"] as const;
        const writes = ["set", "add", "setq", "addq"] as const;
        const k = Object.fromEntries([...names, ...writes].map((n) => [n, fresh(n)])) as Record<
          (typeof names)[number] | (typeof writes)[number],
          string
        >;
        const prefix = fresh("gone-prefix");
        const all = [...Object.values(k), `${prefix}:listed`];
        expect(
          await ask(
            JSON.stringify({ KV_SET: Object.fromEntries(all.map((key) => [key, [0]])), ttl: 50 }),
          ),
        ).toBe(
          frame(
            "KV_SET",
            all.map((key) => el(key, 20)),
          ),
        );
        await until(performance.now(), 50);
        expect(await get(k.get)).toBe(frame("KV_GET", [el(k.get, 22)]));
        expect(await ask(`{"KV_CONTAINS":[${tok(k.contains)}]}`)).toBe(
          frame("KV_CONTAINS", [el(k.contains, 22)]),
        );
        expect(await ask(`{"KV_TTL":[${tok(k.ttl)}]}`)).toBe(frame("KV_TTL", [el(k.ttl, 22)]));
        expect(await ask(`{"KV_APPEND":{${tok(k.append)}:[1]}}`)).toBe(
          frame("KV_APPEND", [el(k.append, 22)]),
        );
        expect(await ask(`{"KV_RMV":[${tok(k.rmv)}]}`)).toBe(frame("KV_RMV", [el(k.rmv, 22)]));
        expect(await ask(`{"KV_EXPIRE":{${tok(k.expire)}:60000}}`)).toBe(
          frame("KV_EXPIRE", [el(k.expire, 22)]),
        );
        expect(await ask(`{"KV_PERSIST":[${tok(k.persist)}]}`)).toBe(
          frame("KV_PERSIST", [el(k.persist, 22)]),
        );
        // Nothing above brought a key back.
        expect(await ask(`{"KV_GET":[${names.map((n) => tok(k[n])).join(",")}]}`)).toBe(
          frame(
            "KV_GET",
            names.map((n) => el(k[n], 22)),
          ),
        );
        expect(await ask(`{"KV_SET":{${tok(k.set)}:[1]}}`)).toBe(frame("KV_SET", [el(k.set, 20)]));
        expect(await ask(`{"KV_ADD":{${tok(k.add)}:[1]}}`)).toBe(frame("KV_ADD", [el(k.add, 20)]));
        expect(await ask(`{"id":1,"KV_SETQ":{${tok(k.setq)}:[1]}}`)).toBe(
          frame("KV_SETQ", [], "1"),
        );
        expect(await ask(`{"id":2,"KV_ADDQ":{${tok(k.addq)}:[1]}}`)).toBe(
          frame("KV_ADDQ", [], "2"),
        );
        // Written anew without a ttl: the new value, persistent.
        expect(await ask(`{"KV_GET":[${writes.map((n) => tok(k[n])).join(",")}]}`)).toBe(
          frame(
            "KV_GET",
            writes.map((n) => found(k[n], "[1]")),
          ),
        );
        for (const n of writes) expect(await ttlOf(k[n])).toBeNull();
        expect((await listAll(prefix, 1000)).seen).toEqual([]);
      });

      test("KV_SET without a ttl drops the expiry, with one replaces it; KV_ADD on an existing key keeps none", async () => {
        const [k, existing] = [fresh("drop"), fresh("existing")];
        await put(k, "1", 60_000);
        expect(await put(k, "2")).toBe(frame("KV_SET", [el(k, 21)]));
        expect(await ask(`{"KV_TTL":[${tok(k)}]}`)).toBe(
          `{"KV_TTL_RSP":[{"k":${tok(k)},"st":1,"ttl":null}]}`,
        );
        expect(await put(k, "3", 5000)).toBe(frame("KV_SET", [el(k, 21)]));
        const left = (await ttlOf(k)) as number;
        expect(left).toBeGreaterThan(3000);
        expect(left).toBeLessThanOrEqual(5000);
        await put(existing, "1");
        expect(await ask(`{"KV_ADD":{${tok(existing)}:2},"ttl":1000}`)).toBe(
          frame("KV_ADD", [el(existing, 23)]),
        );
        expect(await ttlOf(existing)).toBeNull();
        expect(await get(existing)).toBe(frame("KV_GET", [found(existing, "1")]));
      });

      test("KV_APPEND keeps the expiry, on v2 and on v1", async () => {
        const k = fresh("append");
        await put(k, "[1]", 60_000);
        expect(await ask(`{"KV_APPEND":{${tok(k)}:[2]}}`)).toBe(frame("KV_APPEND", [el(k, 1)]));
        expect(await askV1(`{"KV_APPEND":{${tok(k)}:[3]}}`)).toEqual([
          `{"KV_APPEND_RSP":{"st":1,"k":${tok(k)}}}`,
        ]);
        expect(await get(k)).toBe(frame("KV_GET", [found(k, "[1,2,3]")]));
        expect((await ttlOf(k)) as number).toBeGreaterThan(50_000);
      });

      test("a v1 KV_SET or KV_SETQ drops an expiry set through v2", async () => {
        const [a, b] = [fresh("a"), fresh("b")];
        await put(a, "1", 60_000);
        await put(b, "1", 60_000);
        expect(await askV1(`{"KV_SET":{${tok(a)}:2}}`)).toEqual([
          `{"KV_SET_RSP":{"st":21,"k":${tok(a)}}}`,
        ]);
        v1.send(`{"KV_SETQ":{${tok(b)}:2}}`);
        expect(await askV1(`{"KV_GET":[${tok(b)}]}`)).toEqual([
          `{"KV_GET_RSP":{${tok(b)}:2,"st":1}}`,
        ]);
        expect(await ttlOf(a)).toBeNull();
        expect(await ttlOf(b)).toBeNull();
      });

      test("KV_EXPIRE: 1 sets the expiry, 22 for a missing key; the key then expires", async () => {
        const [k, missing, later] = [fresh("expire"), fresh("missing"), fresh("later")];
        await put(k, "1");
        await put(later, "1", 1000);
        expect(
          await ask(
            `{"id":1,"KV_EXPIRE":{${tok(k)}:${SHORT},${tok(missing)}:${SHORT},${tok(later)}:60000}}`,
          ),
        ).toBe(frame("KV_EXPIRE", [el(k, 1), el(missing, 22), el(later, 1)], "1"));
        const written = performance.now();
        const left = (await ttlOf(k)) as number;
        expect(left).toBeGreaterThan(0);
        expect(left).toBeLessThanOrEqual(SHORT);
        // A later KV_EXPIRE replaces an earlier expiry, shorter or longer.
        expect((await ttlOf(later)) as number).toBeGreaterThan(50_000);
        expect(await get(k)).toBe(frame("KV_GET", [found(k, "1")]));
        await until(written, SHORT);
        expect(await ask(`{"KV_GET":[${tok(k)},${tok(missing)}]}`)).toBe(
          frame("KV_GET", [el(k, 22), el(missing, 22)]),
        );
      });

      test.each(BAD_MS)(
        "KV_EXPIRE with ms %s is 41 for that key, which stays untouched",
        async (ms) => {
          const [k, other] = [fresh("bad"), fresh("other")];
          await put(k, '"v"');
          await put(other, '"w"');
          expect(await ask(`{"id":1,"KV_EXPIRE":{${tok(k)}:${ms},${tok(other)}:60000}}`)).toBe(
            frame("KV_EXPIRE", [el(k, 41), el(other, 1)], "1"),
          );
          expect(await get(k)).toBe(frame("KV_GET", [found(k, '"v"')]));
          expect(await ttlOf(k)).toBeNull();
          expect((await ttlOf(other)) as number).toBeGreaterThan(50_000);
        },
      );

      test("KV_EXPIRE with ms 41 leaves an existing expiry as it was", async () => {
        const k = fresh();
        await put(k, "1", 60_000);
        expect(await ask(`{"KV_EXPIRE":{${tok(k)}:0}}`)).toBe(frame("KV_EXPIRE", [el(k, 41)]));
        expect((await ttlOf(k)) as number).toBeGreaterThan(50_000);
      });

      test.each(GOOD_MS)("KV_EXPIRE with ms %s is accepted", async (ms) => {
        const k = fresh();
        await put(k, "1");
        expect(await ask(`{"KV_EXPIRE":{${tok(k)}:${ms}}}`)).toBe(frame("KV_EXPIRE", [el(k, 1)]));
        const left = (await ttlOf(k)) as number;
        expect(left).toBeLessThanOrEqual(Number(ms));
        expect(left).toBeGreaterThan(Number(ms) - 2000);
      });

      test("KV_PERSIST: 1 with or without an expiry, 22 when missing; the key outlives its old expiry", async () => {
        const [expiring, plain, missing] = [fresh("expiring"), fresh("plain"), fresh("missing")];
        await put(expiring, "1", 100);
        const written = performance.now();
        await put(plain, "2");
        expect(
          await ask(`{"id":1,"KV_PERSIST":[${tok(expiring)},${tok(plain)},${tok(missing)},null]}`),
        ).toBe(
          frame("KV_PERSIST", [el(expiring, 1), el(plain, 1), el(missing, 22), '{"st":26}'], "1"),
        );
        expect(await ask(`{"KV_TTL":[${tok(expiring)},${tok(plain)},${tok(missing)}]}`)).toBe(
          `{"KV_TTL_RSP":[{"k":${tok(expiring)},"st":1,"ttl":null},{"k":${tok(plain)},"st":1,"ttl":null},${el(missing, 22)}]}`,
        );
        await until(written, 100);
        expect(await get(expiring)).toBe(frame("KV_GET", [found(expiring, "1")]));
      });

      test("KV_TTL: ms left as an integer, null when it never expires, 22 and 26", async () => {
        const [expiring, plain, missing] = [fresh("expiring"), fresh("plain"), fresh("missing")];
        await put(expiring, "1", 60_000);
        await put(plain, "1");
        const text = await ask(
          `{"id":"t","KV_TTL":[${tok(expiring)},${tok(plain)},${tok(missing)},1]}`,
        );
        const answer = JSON.parse(text) as { KV_TTL_RSP: { ttl: number }[] };
        const ms = answer.KV_TTL_RSP[0]?.ttl as number;
        expect(Number.isInteger(ms)).toBe(true);
        expect(ms).toBeGreaterThan(50_000);
        expect(ms).toBeLessThanOrEqual(60_000);
        expect(text).toBe(
          frame(
            "KV_TTL",
            [
              `{"k":${tok(expiring)},"st":1,"ttl":${ms}}`,
              `{"k":${tok(plain)},"st":1,"ttl":null}`,
              el(missing, 22),
              '{"st":26}',
            ],
            '"t"',
          ),
        );
      });
    });

    describe("KV_KEYS", () => {
      /** Stores `n` keys `<prefix>:<i>`. */
      async function keysUnder(prefix: string, n: number): Promise<string[]> {
        const keys = Array.from({ length: n }, (_, i) => `${prefix}:${i}`);
        expect(
          await ask(JSON.stringify({ KV_SET: Object.fromEntries(keys.map((k) => [k, 1])) })),
        ).toBe(
          frame(
            "KV_SET",
            keys.map((k) => el(k, 20)),
          ),
        );
        return keys;
      }

      test("pages of at most limit keys, all with the prefix, every key listed, cursor null at the end", async () => {
        const prefix = fresh("list");
        const keys = await keysUnder(prefix, 45);
        await put(prefix.slice(0, -1), "1");
        await put(`x${prefix}`, "1");
        const { seen, sizes } = await listAll(prefix, 10);
        expect(new Set(seen)).toEqual(new Set(keys));
        for (const size of sizes) expect(size).toBeLessThanOrEqual(10);
        expect(sizes.length).toBeGreaterThanOrEqual(5);
      });

      test("without limit, at most 100 keys a page", async () => {
        const prefix = fresh("default");
        const keys = await keysUnder(prefix, 150);
        const { seen, sizes } = await listAll(prefix);
        expect(new Set(seen)).toEqual(new Set(keys));
        for (const size of sizes) expect(size).toBeLessThanOrEqual(100);
      });

      test("a prefix is matched literally; an empty prefix or none lists every key", async () => {
        const id = crypto.randomUUID();
        const prefix = `p*?[a-z]\\${id}`;
        const matching = [prefix, `${prefix}x`, `${prefix}é`];
        const others = [`pX?[a-z]\\${id}`, `p*?a\\${id}`, `p*?[a-z]${id}`];
        for (const k of [...matching, ...others]) await put(k, "1");
        expect(new Set((await listAll(prefix, 2)).seen)).toEqual(new Set(matching));
        const everything = new Set((await listAll("", 1000)).seen);
        for (const k of [...matching, ...others]) expect(everything.has(k)).toBe(true);
        const seen = new Set<string>();
        let cursor: string | null = null;
        do {
          const result: Page = await page(cursor === null ? {} : { cursor }, 2);
          for (const k of result.keys) seen.add(k);
          cursor = result.cursor;
        } while (cursor !== null);
        for (const k of [...matching, ...others]) expect(seen.has(k)).toBe(true);
      });

      test("a prefix nothing matches ends with no keys", async () => {
        const { seen } = await listAll(fresh("nothing"), 1000);
        expect(seen).toEqual([]);
      });

      test("KV_KEYS without an id answers too", async () => {
        const prefix = fresh("noid");
        await keysUnder(prefix, 1);
        const text = await ask(JSON.stringify({ KV_KEYS: { prefix, limit: 1000 } }));
        expect(text).toStartWith('{"KV_KEYS_RSP":{"st":1,"keys":[');
      });

      test("cursor null is the same as no cursor; limit as 1e3 or 1000.0 is accepted", async () => {
        const prefix = fresh("nullcursor");
        const keys = await keysUnder(prefix, 12);
        const seen: string[] = [];
        let text = `{"id":1,"KV_KEYS":{"prefix":${tok(prefix)},"limit":1e1,"cursor":null}}`;
        for (let n = 0; n < 500; n++) {
          const answer = await ask(text);
          expect(answer).toStartWith('{"id":1,"KV_KEYS_RSP":{"st":1,"keys":[');
          const rsp = (JSON.parse(answer) as { KV_KEYS_RSP: Page }).KV_KEYS_RSP;
          expect(rsp.keys.length).toBeLessThanOrEqual(10);
          seen.push(...rsp.keys);
          if (rsp.cursor === null) break;
          text = `{"id":1,"KV_KEYS":{"cursor":${tok(rsp.cursor)},"limit":10.0,"prefix":${tok(prefix)}}}`;
        }
        expect(new Set(seen)).toEqual(new Set(keys));
        expect((await page({ prefix, limit: 1000 })).st).toBe(1);
      });

      test("a repeated member: the last one counts", async () => {
        const prefix = fresh("repeated");
        const keys = await keysUnder(prefix, 3);
        let text = `{"id":1,"KV_KEYS":{"prefix":"no-such-${crypto.randomUUID()}","prefix":${tok(prefix)},"limit":0,"limit":1000}}`;
        const seen: string[] = [];
        for (let n = 0; n < 500; n++) {
          const rsp = (JSON.parse(await ask(text)) as { KV_KEYS_RSP: Page }).KV_KEYS_RSP;
          expect(rsp.st).toBe(1);
          seen.push(...rsp.keys);
          if (rsp.cursor === null) break;
          text = JSON.stringify({ id: 1, KV_KEYS: { prefix, limit: 1000, cursor: rsp.cursor } });
        }
        expect(new Set(seen)).toEqual(new Set(keys));
      });

      test.each([
        ["limit", "0"],
        ["limit", "1001"],
        ["limit", "-1"],
        ["limit", "1.5"],
        ["limit", '"10"'],
        ["limit", "null"],
        ["limit", "true"],
        ["limit", "[]"],
        ["prefix", "1"],
        ["prefix", "null"],
        ["prefix", "[]"],
        ["prefix", "{}"],
        ["cursor", "1"],
        ["cursor", "true"],
        ["cursor", "[]"],
        ["cursor", "{}"],
        ["pattern", '"*"'],
        ["count", "10"],
        ["Prefix", '"a"'],
      ])("member %s: %s is KV_ERR 12 naming it", async (member, value) => {
        expectErr(await ask(`{"id":1,"KV_KEYS":{"${member}":${value}}}`), 12, {
          id: "1",
          mentions: member,
        });
        expectErr(await ask(`{"KV_KEYS":{"prefix":"a","${member}":${value}}}`), 12, {
          mentions: member,
        });
      });

      test("a cursor the server did not make is KV_ERR 12 naming cursor", async () => {
        const prefix = fresh("forged");
        await keysUnder(prefix, 5);
        const first = await page({ prefix, limit: 1 });
        // Five keys do not fit a page of one.
        expect(first.cursor).toBeString();
        const real = first.cursor as string;
        const flip = (c: string) => (c === "A" ? "B" : "A");
        const forged = [
          "",
          "x",
          "abc.def",
          "eyJhIjoxfQ.AAAAAAAAAAAA",
          "null",
          `${"A".repeat(40)}.x`,
          `${flip(real[0] as string)}${real.slice(1)}`,
          `${real.slice(0, -1)}${flip(real.at(-1) as string)}`,
          real.slice(0, -2),
          `${real}x`,
        ];
        for (const cursor of forged) {
          expectErr(await ask(JSON.stringify({ id: 7, KV_KEYS: { prefix, cursor } })), 12, {
            id: "7",
            mentions: "cursor",
          });
        }
      });
    });

    describe("version 1 connections", () => {
      test.each(V2_ONLY)("%s is 10 naming it, as any unknown command", async (command) => {
        expect(await askV1(`{"${command}":{}}`)).toEqual([`{"KV_ERR":{"st":10,"m":"${command}"}}`]);
        expect(await askV1(`{"${command}":["a"]}`)).toEqual([
          `{"KV_ERR":{"st":10,"m":"${command}"}}`,
        ]);
      });

      test("ttl and id are second members on v1: 11, nothing written", async () => {
        const key = fresh();
        expect(await askV1(`{"KV_SET":{${tok(key)}:1},"ttl":1000}`)).toEqual([
          '{"KV_ERR":{"st":11,"m":""}}',
        ]);
        expect(await askV1(`{"id":1,"KV_SET":{${tok(key)}:1}}`)).toEqual([
          '{"KV_ERR":{"st":11,"m":""}}',
        ]);
        expect(await askV1('{"id":1}')).toEqual(['{"KV_ERR":{"st":10,"m":"id"}}']);
        expect(await askV1(`{"KV_GET":[${tok(key)}]}`)).toEqual([
          `{"KV_GET_RSP":{"st":22,"k":${tok(key)}}}`,
        ]);
      });

      test("v1 still answers one frame per key, 12 under the command's name, silence for empty bodies", async () => {
        const [a, b] = [fresh("a"), fresh("b")];
        expect(await askV1(`{"KV_SET":{${tok(a)}:1,${tok(b)}:2}}`, 2)).toEqual([
          `{"KV_SET_RSP":{"st":20,"k":${tok(a)}}}`,
          `{"KV_SET_RSP":{"st":20,"k":${tok(b)}}}`,
        ]);
        expect(await askV1('{"KV_GET":{}}')).toEqual(['{"KV_GET_RSP":{"st":12,"k":""}}']);
        v1.send('{"KV_GET":[]}');
        expect(await askV1(`{"KV_GET":[1,${tok(a)}]}`, 2)).toEqual([
          '{"KV_GET_RSP":{"st":26,"k":""}}',
          `{"KV_GET_RSP":{${tok(a)}:1,"st":1}}`,
        ]);
      });
    });
  });
}
