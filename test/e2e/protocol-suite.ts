import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { VERSION } from "../../src/version.ts";
import { APPEND_COMBINED, APPEND_MISMATCHED } from "../support/append-cases.ts";
import { TestClient } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";

const OBJECT_BODY = ["KV_SET", "KV_SETQ", "KV_ADD", "KV_ADDQ", "KV_APPEND"] as const;
const ARRAY_BODY = ["KV_GET", "KV_RMV", "KV_CONTAINS"] as const;
const EMPTY_BODY = ["KV_CLEAR", "KV_COUNT", "KV_SERVER_INFO"] as const;
const WRONG_FOR_OBJECT = ["[]", '["x"]', '"x"', "1", "null", "true"];
const WRONG_FOR_ARRAY = ["{}", '{"x":1}', '"x"', "1", "null", "false"];

/**
 * Every row and error path of the wire protocol, spoken over a real
 * WebSocket to a node in this process (the protocol needs no process of its
 * own). `storeArgs` points the node at the store under test; the suite clears
 * the store before it starts.
 */
export function protocolSuite(name: string, storeArgs: () => string[]): void {
  describe(`protocol on ${name}`, () => {
    let node: TestNode;
    let client: TestClient;
    /** A key no other test uses, so tests don't depend on each other's data. */
    let serial = 0;
    const fresh = (label = "k") => `${label}-${++serial}-${crypto.randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      node = startNode(["--max-payload=65536", ...storeArgs()]);
      client = await TestClient.open(node.url);
      client.command({ KV_CLEAR: {} });
      await client.next();
    });
    afterAll(async () => {
      client?.close();
      await node?.stop();
    });

    /** Sends raw text and returns the next `n` responses, raw. */
    async function exchange(text: string, n = 1): Promise<string[]> {
      client.send(text);
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(await client.nextText());
      return out;
    }

    /** Proves a message got no answer: the next response is the one to a later probe. */
    async function expectSilence(text: string): Promise<void> {
      client.send(text);
      client.send('{"KV_SERVER_INFO":{}}');
      expect(await client.nextText()).toStartWith('{"KV_SERVER_INFO_RSP":');
    }

    const set = (key: string, value: string) =>
      exchange(`{"KV_SET":{${JSON.stringify(key)}:${value}}}`);
    const get = async (key: string) => (await exchange(`{"KV_GET":[${JSON.stringify(key)}]}`))[0];
    const foundText = (key: string, value: string) =>
      `{"KV_GET_RSP":{${JSON.stringify(key)}:${value},"st":1}}`;
    const keyStatus = (command: string, st: number, key: string) =>
      `{"${command}_RSP":{"st":${st},"k":${JSON.stringify(key)}}}`;

    describe("errors not tied to a command", () => {
      test("a binary frame gets status 2 and the connection stays open", async () => {
        client.send(new Uint8Array([123, 125]));
        const err = (await client.next()) as { KV_ERR: { st: number; m: string } };
        expect(err.KV_ERR.st).toBe(2);
        expect(err.KV_ERR.m.length).toBeGreaterThan(0);
        await expectSilence('{"KV_SET":{}}');
      });

      test.each([
        "{",
        '{"KV_SET":{"a":1}',
        '{"KV_GET":["a",]}',
        "{'KV_COUNT':{}}",
        '{"KV_SET":{"a":01}}',
        '{"KV_SET":{"a":NaN}}',
        '{"KV_COUNT":{}} x',
        "",
        '{"KV_SET":{"a":"\u0001"}}',
      ])("invalid JSON %p gets status 3 with a reason", async (text) => {
        const [reply] = await exchange(text);
        const err = JSON.parse(reply as string) as { KV_ERR: { st: number; m: string } };
        expect(Object.keys(err)).toEqual(["KV_ERR"]);
        expect(err.KV_ERR.st).toBe(3);
        expect(typeof err.KV_ERR.m).toBe("string");
      });

      test.each(["[]", '["KV_COUNT"]', '"KV_COUNT"', "1987", "null", "true"])(
        "valid JSON that is not an object, %p, gets status 3",
        async (text) => {
          const [reply] = await exchange(text);
          expect(JSON.parse(reply as string)).toEqual({
            KV_ERR: { st: 3, m: expect.stringMatching(/.+/) },
          });
        },
      );

      test("an empty object gets status 10 with an empty reason", async () => {
        expect(await exchange("{}")).toEqual(['{"KV_ERR":{"st":10,"m":""}}']);
        expect(await exchange(" { } ")).toEqual(['{"KV_ERR":{"st":10,"m":""}}']);
      });

      test.each([
        '{"KV_COUNT":{},"KV_COUNT":{}}',
        '{"KV_SET":{"a":1},"KV_GET":["a"]}',
        '{"KV_NOPE":1,"KV_COUNT":{}}',
        '{"KV_GET":{},"x":[]}',
      ])("two or more members, %p, get status 11", async (text) => {
        expect(await exchange(text)).toEqual(['{"KV_ERR":{"st":11,"m":""}}']);
      });

      test.each([
        "KV_NOPE",
        "kv_set",
        "KV_Set",
        "KV_SET_RSP",
        "KV_GET_RSP",
        "KV_ERR",
        "KV_SAVE",
        "KV_LOAD",
        "KV_FIND",
        "KV_UPDATE",
        "SH_NEW",
        "",
        "KV_SET ",
        'quote"back\\slash',
      ])("an unknown command name %p gets status 10 naming it", async (name) => {
        const [reply] = await exchange(`{${JSON.stringify(name)}:{}}`);
        expect(reply).toBe(`{"KV_ERR":{"st":10,"m":${JSON.stringify(name)}}}`);
      });

      test("precedence: JSON before member count before name before body type", async () => {
        expect(JSON.parse((await exchange('{"A":1,"B":[}'))[0] as string).KV_ERR.st).toBe(3);
        expect(await exchange('{"KV_NOPE":1,"KV_GET":{}}')).toEqual([
          '{"KV_ERR":{"st":11,"m":""}}',
        ]);
        expect(await exchange('{"KV_NOPE":null}')).toEqual(['{"KV_ERR":{"st":10,"m":"KV_NOPE"}}']);
        expect(await exchange('{"KV_GET":{}}')).toEqual(['{"KV_GET_RSP":{"st":12,"k":""}}']);
      });
    });

    describe("a body of the wrong type gets status 12 under the command's own name", () => {
      for (const command of OBJECT_BODY) {
        test.each(WRONG_FOR_OBJECT)(`${command} with %p`, async (body) => {
          expect(await exchange(`{"${command}":${body}}`)).toEqual([keyStatus(command, 12, "")]);
        });
      }
      for (const command of ARRAY_BODY) {
        test.each(WRONG_FOR_ARRAY)(`${command} with %p`, async (body) => {
          expect(await exchange(`{"${command}":${body}}`)).toEqual([keyStatus(command, 12, "")]);
        });
      }
      for (const command of EMPTY_BODY) {
        test.each(WRONG_FOR_OBJECT)(`${command} with %p`, async (body) => {
          expect(await exchange(`{"${command}":${body}}`)).toEqual([keyStatus(command, 12, "")]);
        });
      }
    });

    describe("bodies without keys get no response", () => {
      test.each([
        ...OBJECT_BODY.map((c) => `{"${c}":{}}`),
        ...ARRAY_BODY.map((c) => `{"${c}":[]}`),
        '{"KV_SET" : { } }',
      ])("%p", async (text) => {
        await expectSilence(text);
      });
    });

    describe("KV_SET and KV_SETQ", () => {
      test("a new key is 20, an existing key 21 and its value is overwritten", async () => {
        const key = fresh();
        expect(await set(key, "1")).toEqual([keyStatus("KV_SET", 20, key)]);
        expect(await set(key, '{"v":2}')).toEqual([keyStatus("KV_SET", 21, key)]);
        expect(await get(key)).toBe(foundText(key, '{"v":2}'));
      });

      test("several keys answer in the order of the body", async () => {
        const [a, b, c] = [fresh("a"), fresh("b"), fresh("c")];
        await set(b, "0");
        const text = `{"KV_SET":{"${c}":1,"${a}":2,"${b}":3}}`;
        expect(await exchange(text, 3)).toEqual([
          keyStatus("KV_SET", 20, c),
          keyStatus("KV_SET", 20, a),
          keyStatus("KV_SET", 21, b),
        ]);
      });

      test("a repeated member name counts once, with its last value", async () => {
        const key = fresh();
        expect(await exchange(`{"KV_SET":{"${key}":1,"${key}":[2]}}`)).toEqual([
          keyStatus("KV_SET", 20, key),
        ]);
        expect(await get(key)).toBe(foundText(key, "[2]"));
      });

      test("KV_SETQ is silent for new and existing keys and stores the value", async () => {
        const key = fresh();
        await expectSilence(`{"KV_SETQ":{"${key}":"first"}}`);
        await expectSilence(`{"KV_SETQ":{"${key}":"second","${fresh()}":null}}`);
        expect(await get(key)).toBe(foundText(key, '"second"'));
      });
    });

    describe("KV_ADD and KV_ADDQ", () => {
      test("a new key is 20; an existing key is 23 and keeps its value", async () => {
        const key = fresh();
        expect(await exchange(`{"KV_ADD":{"${key}":"old"}}`)).toEqual([
          keyStatus("KV_ADD", 20, key),
        ]);
        expect(await exchange(`{"KV_ADD":{"${key}":"new"}}`)).toEqual([
          keyStatus("KV_ADD", 23, key),
        ]);
        expect(await get(key)).toBe(foundText(key, '"old"'));
      });

      test("KV_ADDQ is silent when added and answers 23 for an existing key", async () => {
        const [a, b] = [fresh("a"), fresh("b")];
        await expectSilence(`{"KV_ADDQ":{"${a}":1}}`);
        expect(await exchange(`{"KV_ADDQ":{"${b}":2,"${a}":3}}`)).toEqual([
          keyStatus("KV_ADDQ", 23, a),
        ]);
        await expectSilence(`{"KV_GET":[]}`);
        expect(await get(a)).toBe(foundText(a, "1"));
        expect(await get(b)).toBe(foundText(b, "2"));
      });
    });

    describe("KV_GET", () => {
      test("found keys answer key and value then st 1; missing keys 22", async () => {
        const [a, missing] = [fresh("a"), fresh("missing")];
        await set(a, '{"x":[1,2]}');
        expect(await exchange(`{"KV_GET":["${a}","${missing}"]}`, 2)).toEqual([
          foundText(a, '{"x":[1,2]}'),
          keyStatus("KV_GET", 22, missing),
        ]);
      });

      test("elements that are not strings get 26 in place, the others are still read", async () => {
        const a = fresh();
        await set(a, "true");
        const replies = await exchange(`{"KV_GET":[1,"${a}",null,{},[],true,"${a}"]}`, 7);
        expect(replies).toEqual([
          keyStatus("KV_GET", 26, ""),
          foundText(a, "true"),
          keyStatus("KV_GET", 26, ""),
          keyStatus("KV_GET", 26, ""),
          keyStatus("KV_GET", 26, ""),
          keyStatus("KV_GET", 26, ""),
          foundText(a, "true"),
        ]);
      });

      test("a key named st collides with the status member, as version 1 does", async () => {
        await exchange('{"KV_RMV":["st"]}');
        await set("st", '"value"');
        expect(await get("st")).toBe('{"KV_GET_RSP":{"st":"value","st":1}}');
        await exchange('{"KV_RMV":["st"]}');
      });
    });

    describe("KV_RMV and KV_CONTAINS", () => {
      test("KV_RMV: 24 when removed, 22 when missing, a repeated key twice in order", async () => {
        const key = fresh();
        await set(key, "1");
        expect(await exchange(`{"KV_RMV":["${key}","${key}",7]}`, 3)).toEqual([
          keyStatus("KV_RMV", 24, key),
          keyStatus("KV_RMV", 22, key),
          keyStatus("KV_RMV", 26, ""),
        ]);
        expect(await get(key)).toBe(keyStatus("KV_GET", 22, key));
      });

      test("KV_CONTAINS: 23 when present, 22 when missing, 26 for a non-string", async () => {
        const [a, missing] = [fresh("a"), fresh("missing")];
        await set(a, "null");
        expect(await exchange(`{"KV_CONTAINS":["${a}",false,"${missing}"]}`, 3)).toEqual([
          keyStatus("KV_CONTAINS", 23, a),
          keyStatus("KV_CONTAINS", 26, ""),
          keyStatus("KV_CONTAINS", 22, missing),
        ]);
      });
    });

    describe("KV_APPEND", () => {
      test.each(APPEND_COMBINED)("%s: %s + %s", async (_, stored, added, result) => {
        const key = fresh();
        await set(key, stored);
        expect(await exchange(`{"KV_APPEND":{"${key}":${added}}}`)).toEqual([
          keyStatus("KV_APPEND", 1, key),
        ]);
        expect(await get(key)).toBe(foundText(key, result));
      });

      test.each(APPEND_MISMATCHED)(
        "%s + %s is 41 and leaves the value untouched",
        async (stored, added) => {
          const key = fresh();
          await set(key, stored);
          expect(await exchange(`{"KV_APPEND":{"${key}":${added}}}`)).toEqual([
            keyStatus("KV_APPEND", 41, key),
          ]);
          expect(await get(key)).toBe(foundText(key, stored));
        },
      );

      test("a missing key is 22 and is not created; keys answer in order", async () => {
        const [missing, present] = [fresh("missing"), fresh("present")];
        await set(present, "[0]");
        expect(await exchange(`{"KV_APPEND":{"${missing}":[1],"${present}":[1]}}`, 2)).toEqual([
          keyStatus("KV_APPEND", 22, missing),
          keyStatus("KV_APPEND", 1, present),
        ]);
        expect(await get(missing)).toBe(keyStatus("KV_GET", 22, missing));
        expect(await get(present)).toBe(foundText(present, "[0,1]"));
      });
    });

    describe("values read back exactly as written", () => {
      const values = [
        "18446744073709551617",
        "9007199254740993",
        "-9007199254740993",
        "0.1",
        "1e21",
        "1E-7",
        "-0",
        "123456789012345678901234567890.123456789012345678901234567890",
        "1e400",
        '{"10":"ten","2":"two","b":1,"a":2}',
        "[]",
        "{}",
        '[[],{},[[]],{"a":{}},[{}]]',
        '"\\ud800 lone \\udc00"',
        '"tab\\tquote\\"slash\\/unicode\\u00e9 é 😀"',
        "[true,false,null]",
        '{"deep":[[[[[[[[[[{"x":[[[[]]]]}]]]]]]]]]]}',
      ];
      test.each(values)("%s", async (value) => {
        const key = fresh();
        expect(await set(key, value)).toEqual([keyStatus("KV_SET", 20, key)]);
        expect(await get(key)).toBe(foundText(key, value));
      });

      test("values survive KV_APPEND unchanged, beside the appended part", async () => {
        const key = fresh();
        await set(key, '[[],{},9007199254740993,0.1,1e21,{"2":1,"1":[{}]}]');
        await exchange(`{"KV_APPEND":{"${key}":[18446744073709551617,[[]],{"b":{},"a":[]}]}}`);
        expect(await get(key)).toBe(
          foundText(
            key,
            '[[],{},9007199254740993,0.1,1e21,{"2":1,"1":[{}]},18446744073709551617,[[]],{"b":{},"a":[]}]',
          ),
        );
        const obj = fresh();
        await set(obj, '{"10":[],"2":{}}');
        await exchange(`{"KV_APPEND":{"${obj}":{"1":2.50,"10":"kept old"}}}`);
        const reply = await get(obj);
        const value = JSON.parse(reply as string).KV_GET_RSP[obj];
        expect(value).toEqual({ "10": [], "2": {}, "1": 2.5 });
        expect(reply).toContain('"10":[]');
      });

      test("whitespace outside strings is dropped, inside strings kept", async () => {
        const key = fresh();
        await exchange(`{ "KV_SET" : { "${key}" : [ 1 , { "a b" : " x " } ] } }`);
        expect(await get(key)).toBe(foundText(key, '[1,{"a b":" x "}]'));
      });
    });

    describe("keys", () => {
      test.each([
        "",
        " ",
        "é😀",
        'quote"backslash\\',
        "new\nline\ttab",
        "\u0000nul",
        "10",
        "KV_SET",
        "x".repeat(2000),
      ])("any string is a key: %p", async (key) => {
        await exchange(`{"KV_RMV":[${JSON.stringify(key)}]}`);
        expect(await set(key, "[1]")).toEqual([keyStatus("KV_SET", 20, key)]);
        const [reply] = await exchange(`{"KV_GET":[${JSON.stringify(key)}]}`);
        expect(JSON.parse(reply as string)).toEqual({ KV_GET_RSP: { [key]: [1], st: 1 } });
        expect(await exchange(`{"KV_RMV":[${JSON.stringify(key)}]}`)).toEqual([
          keyStatus("KV_RMV", 24, key),
        ]);
      });

      test("a key written with escapes is the same key written plainly", async () => {
        const key = `é-${fresh()}`;
        await set(key, "1");
        const escaped = key.replace("é", "\\u00e9");
        const [reply] = await exchange(`{"KV_CONTAINS":["${escaped}"]}`);
        expect(JSON.parse(reply as string)).toEqual({ KV_CONTAINS_RSP: { st: 23, k: key } });
      });
    });

    describe("order", () => {
      test("a 50-key KV_SET and KV_GET answer in key order", async () => {
        const keys = Array.from({ length: 50 }, (_, i) => fresh(`order${i}`));
        const body = Object.fromEntries(keys.map((k, i) => [k, { i }]));
        expect(await exchange(JSON.stringify({ KV_SET: body }), 50)).toEqual(
          keys.map((k) => keyStatus("KV_SET", 20, k)),
        );
        const reversed = [...keys].reverse();
        expect(await exchange(JSON.stringify({ KV_GET: reversed }), 50)).toEqual(
          reversed.map((k) => foundText(k, `{"i":${keys.indexOf(k)}}`)),
        );
      });

      test("responses to pipelined messages of every kind come in request order", async () => {
        const key = fresh();
        const messages = [
          `{"KV_ADD":{"${key}":[1]}}`,
          `{"KV_APPEND":{"${key}":[2]}}`,
          "not json",
          `{"KV_GET":["${key}"]}`,
          `{"KV_SETQ":{"${key}":[3]}}`,
          `{"KV_CONTAINS":["${key}"]}`,
          `{"KV_RMV":["${key}"]}`,
          `{"KV_GET":["${key}"]}`,
        ];
        for (const m of messages) client.send(m);
        const replies = [];
        for (let i = 0; i < 7; i++) replies.push(await client.nextText());
        expect(replies[0]).toBe(keyStatus("KV_ADD", 20, key));
        expect(replies[1]).toBe(keyStatus("KV_APPEND", 1, key));
        expect(replies[2]).toStartWith('{"KV_ERR":{"st":3,');
        expect(replies[3]).toBe(foundText(key, "[1,2]"));
        expect(replies.slice(4)).toEqual([
          keyStatus("KV_CONTAINS", 23, key),
          keyStatus("KV_RMV", 24, key),
          keyStatus("KV_GET", 22, key),
        ]);
      });
    });

    describe("whole-store commands", () => {
      test("KV_COUNT counts, KV_CLEAR answers the keys deleted and empties the store", async () => {
        const other = await TestClient.open(node.url);
        other.command({ KV_CLEAR: {} });
        await other.next();
        expect(await other.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: 0 } }]);
        const keys = Array.from({ length: 7 }, () => fresh());
        await other.ask({ KV_SET: Object.fromEntries(keys.map((k) => [k, 1])) }, 7);
        expect(await other.ask({ KV_COUNT: { ignored: [1] } })).toEqual([
          { KV_COUNT_RSP: { st: 1, cnt: 7 } },
        ]);
        expect(await exchange('{"KV_CLEAR":{"members":"ignored"}}')).toEqual([
          '{"KV_CLEAR_RSP":{"st":1,"cnt":7}}',
        ]);
        expect(await exchange('{"KV_COUNT":{}}')).toEqual(['{"KV_COUNT_RSP":{"st":1,"cnt":0}}']);
        expect(await exchange('{"KV_CLEAR":{}}')).toEqual(['{"KV_CLEAR_RSP":{"st":1,"cnt":0}}']);
        other.close();
      });

      test("KV_SERVER_INFO counts every message received, this one included", async () => {
        const [first] = await exchange('{"KV_SERVER_INFO":{}}');
        const info = JSON.parse(first as string).KV_SERVER_INFO_RSP;
        expect(info).toEqual({ st: 1, qryCnt: expect.any(Number), version: VERSION });
        expect(first).toStartWith('{"KV_SERVER_INFO_RSP":{"st":1,"qryCnt":');
        client.send(new Uint8Array([1]));
        client.send("not json");
        client.send(`{"KV_SETQ":{"${fresh()}":1}}`);
        client.send('{"KV_GET":[]}');
        client.send('{"KV_SERVER_INFO":{"x":1}}');
        await client.take(2);
        const later = (await client.next()) as { KV_SERVER_INFO_RSP: { qryCnt: number } };
        expect(later.KV_SERVER_INFO_RSP.qryCnt).toBe(info.qryCnt + 5);
      });

      test("KV_SERVER_INFO counts messages from every connection of this node", async () => {
        const [before] = await exchange('{"KV_SERVER_INFO":{}}');
        const other = await TestClient.open(node.url);
        await other.ask({ KV_COUNT: {} });
        other.close();
        const [after] = await exchange('{"KV_SERVER_INFO":{}}');
        const count = (text: string | undefined) =>
          JSON.parse(text as string).KV_SERVER_INFO_RSP.qryCnt as number;
        expect(count(after)).toBe(count(before) + 2);
      });
    });
  });
}
