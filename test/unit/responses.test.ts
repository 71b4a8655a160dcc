import { describe, expect, test } from "bun:test";
import type { CommandName } from "../../src/protocol/commands.ts";
import { parseMessage } from "../../src/protocol/requests-v1.ts";
import * as rsp from "../../src/protocol/responses-v1.ts";
import { Status } from "../../src/protocol/status.ts";
import { VERSION } from "../../src/version.ts";

const ALL_COMMANDS: readonly CommandName[] = [
  "KV_SET",
  "KV_SETQ",
  "KV_ADD",
  "KV_ADDQ",
  "KV_APPEND",
  "KV_GET",
  "KV_RMV",
  "KV_CONTAINS",
  "KV_COUNT",
  "KV_CLEAR",
  "KV_SERVER_INFO",
];

/** The token parseMessage hands the encoders for a key sent as `keyText`. */
function tokenOf(keyText: string): string {
  const parsed = parseMessage(`{"KV_GET":[${keyText}]}`);
  if (parsed.name !== "KV_GET") throw new Error(`not a KV_GET: ${JSON.stringify(parsed)}`);
  return parsed.tokens[0] as string;
}

const AWKWARD_KEYS = [
  "",
  "user1",
  'quote"inside',
  "back\\slash",
  "\\",
  '\\"',
  "new\nline\ttab\r\b\f",
  "\u0000\u0001\u001f",
  "\u007f\u2028\u2029",
  "é😀",
  "\ud800",
  "lone \udc00 low",
  "\udbff\ud800",
  "st",
  "k",
  "</script>",
];

describe("responses: exact bytes", () => {
  test("keyStatus", () => {
    expect(rsp.keyStatus("KV_SET", Status.KeySet, '"user1"')).toBe(
      '{"KV_SET_RSP":{"st":20,"k":"user1"}}',
    );
    expect(rsp.keyStatus("KV_SET", Status.KeyUpdated, '"user1"')).toBe(
      '{"KV_SET_RSP":{"st":21,"k":"user1"}}',
    );
    expect(rsp.keyStatus("KV_ADDQ", Status.KeyExists, '"a"')).toBe(
      '{"KV_ADDQ_RSP":{"st":23,"k":"a"}}',
    );
    expect(rsp.keyStatus("KV_GET", Status.KeyNotExist, '"k1"')).toBe(
      '{"KV_GET_RSP":{"st":22,"k":"k1"}}',
    );
    expect(rsp.keyStatus("KV_RMV", Status.KeyRemoved, '"k1"')).toBe(
      '{"KV_RMV_RSP":{"st":24,"k":"k1"}}',
    );
    expect(rsp.keyStatus("KV_CONTAINS", Status.KeyTypeInvalid, '""')).toBe(
      '{"KV_CONTAINS_RSP":{"st":26,"k":""}}',
    );
    expect(rsp.keyStatus("KV_APPEND", Status.ValueTypeInvalid, '"k1"')).toBe(
      '{"KV_APPEND_RSP":{"st":41,"k":"k1"}}',
    );
    expect(rsp.keyStatus("KV_SETQ", Status.Unknown, '"k1"')).toBe(
      '{"KV_SETQ_RSP":{"st":100,"k":"k1"}}',
    );
  });

  test.each(ALL_COMMANDS)("keyStatus and bodyTypeError use %s_RSP", (command) => {
    expect(rsp.keyStatus(command, Status.Ok, '"x"')).toBe(`{"${command}_RSP":{"st":1,"k":"x"}}`);
    expect(rsp.bodyTypeError(command)).toBe(`{"${command}_RSP":{"st":12,"k":""}}`);
  });

  test("found puts the key beside st", () => {
    expect(rsp.found('"k1"', '{"a":[1,2]}')).toBe('{"KV_GET_RSP":{"k1":{"a":[1,2]},"st":1}}');
    expect(rsp.found('"k1"', "18446744073709551617")).toBe(
      '{"KV_GET_RSP":{"k1":18446744073709551617,"st":1}}',
    );
    expect(rsp.found('""', "null")).toBe('{"KV_GET_RSP":{"":null,"st":1}}');
    expect(rsp.found('"\\u0061"', '"\\u00e9"')).toBe('{"KV_GET_RSP":{"\\u0061":"\\u00e9","st":1}}');
  });

  test("counted", () => {
    expect(rsp.counted("KV_COUNT", 0)).toBe('{"KV_COUNT_RSP":{"st":1,"cnt":0}}');
    expect(rsp.counted("KV_CLEAR", 12345)).toBe('{"KV_CLEAR_RSP":{"st":1,"cnt":12345}}');
  });

  test("commandFailed", () => {
    expect(rsp.commandFailed("KV_COUNT", Status.Unknown, "store down")).toBe(
      '{"KV_COUNT_RSP":{"st":100,"m":"store down"}}',
    );
    expect(rsp.commandFailed("KV_CLEAR", Status.Unknown, "")).toBe(
      '{"KV_CLEAR_RSP":{"st":100,"m":""}}',
    );
  });

  test("serverInfo", () => {
    expect(rsp.serverInfo(7, VERSION)).toBe(
      `{"KV_SERVER_INFO_RSP":{"st":1,"qryCnt":7,"version":"${VERSION}"}}`,
    );
  });

  test("messageError", () => {
    expect(rsp.messageError(Status.CommandNotExist, "")).toBe('{"KV_ERR":{"st":10,"m":""}}');
    expect(rsp.messageError(Status.CommandNotExist, "KV_NOPE")).toBe(
      '{"KV_ERR":{"st":10,"m":"KV_NOPE"}}',
    );
    expect(rsp.messageError(Status.CommandMultiple, "")).toBe('{"KV_ERR":{"st":11,"m":""}}');
    expect(rsp.messageError(Status.OpCodeInvalid, "binary")).toBe(
      '{"KV_ERR":{"st":2,"m":"binary"}}',
    );
  });

  test("bodyTypeError", () => {
    expect(rsp.bodyTypeError("KV_SET")).toBe('{"KV_SET_RSP":{"st":12,"k":""}}');
  });
});

describe("responses: awkward keys and reasons stay valid JSON", () => {
  test.each(AWKWARD_KEYS)(
    "key %j sent with JSON.stringify reads back from every encoder",
    (key) => {
      const token = tokenOf(JSON.stringify(key));
      expect(JSON.parse(rsp.keyStatus("KV_RMV", Status.KeyRemoved, token))).toEqual({
        KV_RMV_RSP: { st: 24, k: key },
      });
      const found = JSON.parse(rsp.found(token, '{"v":[1]}')) as { KV_GET_RSP: object };
      if (key === "st") {
        expect(found).toEqual({ KV_GET_RSP: { st: 1 } });
      } else {
        expect(Object.entries(found.KV_GET_RSP)).toEqual([
          [key, { v: [1] }],
          ["st", 1],
        ]);
      }
    },
  );

  test.each([
    ['"\\u0022\\u005c"', '"\\'],
    ['"\\"\\\\\\/"', '"\\/'],
    ['"\\ud800x"', "\ud800x"],
    ['"\\uDC00\\uD800"', "\udc00\ud800"],
    ['"raw \ud800 lone"', "raw \ud800 lone"],
    ['"raw\u007f\u2028"', "raw\u007f\u2028"],
  ])("key written by the client as %s reads back as its value", (keyText, key) => {
    const token = tokenOf(keyText);
    expect(token).toBe(keyText);
    const text = rsp.keyStatus("KV_CONTAINS", Status.KeyExists, token);
    expect(JSON.parse(text)).toEqual({ KV_CONTAINS_RSP: { st: 23, k: key } });
  });

  test.each(AWKWARD_KEYS)("reason %j is escaped in messageError and commandFailed", (reason) => {
    expect(JSON.parse(rsp.messageError(Status.CommandNotExist, reason))).toEqual({
      KV_ERR: { st: 10, m: reason },
    });
    expect(JSON.parse(rsp.commandFailed("KV_COUNT", Status.Unknown, reason))).toEqual({
      KV_COUNT_RSP: { st: 100, m: reason },
    });
  });

  test("an unknown command name goes back as m, escaped", () => {
    const parsed = parseMessage('{"a\\"b\\u0000\\ud800":{}}');
    if (parsed.name !== "KV_ERR") throw new Error("expected KV_ERR");
    const text = rsp.messageError(parsed.st, parsed.m);
    expect(text).toBe('{"KV_ERR":{"st":10,"m":"a\\"b\\u0000\\ud800"}}');
    expect(JSON.parse(text)).toEqual({ KV_ERR: { st: 10, m: 'a"b\u0000\ud800' } });
  });
});
