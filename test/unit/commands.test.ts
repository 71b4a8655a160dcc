import { heapStats } from "bun:jsc";
import { describe, expect, test } from "bun:test";
import type { CommandName } from "../../src/protocol/commands.ts";
import { parseMessage } from "../../src/protocol/requests-v1.ts";

const PAIR_COMMANDS = ["KV_SET", "KV_SETQ", "KV_ADD", "KV_ADDQ", "KV_APPEND"] as const;
const KEY_COMMANDS = ["KV_GET", "KV_RMV", "KV_CONTAINS"] as const;
const WHOLE_COMMANDS = ["KV_COUNT", "KV_CLEAR", "KV_SERVER_INFO"] as const;
const ALL_COMMANDS: readonly CommandName[] = [...PAIR_COMMANDS, ...KEY_COMMANDS, ...WHOLE_COMMANDS];

describe("parseMessage: KV_ERR in the spec's order", () => {
  test.each([
    "",
    "{",
    '{"KV_SET":{"a":1}',
    '{"KV_SET":{"a":}}',
    '{"KV_SET":{"a":1},}',
    "{'KV_COUNT':{}}",
    '{"KV_COUNT":{}} x',
    '{"KV_COUNT":{}}{}',
    '{"KV_GET":["a",]}',
    '{"KV_SET":{"a":01}}',
  ])("invalid JSON %j is 3 with the offset", (text) => {
    const parsed = parseMessage(text);
    expect(parsed).toMatchObject({ name: "KV_ERR", st: 3 });
    expect((parsed as { m: string }).m).toMatch(/ at offset \d+$/);
  });

  test.each([
    "[]",
    '["KV_COUNT",{}]',
    '"KV_COUNT"',
    "1",
    "1e400",
    "null",
    "true",
    "false",
    ' [ { "KV_COUNT" : { } } ] ',
  ])("valid JSON that is not an object %j is 3", (text) => {
    expect(parseMessage(text)).toEqual({
      name: "KV_ERR",
      st: 3,
      m: "message is not a JSON object",
    });
  });

  test("a non-object followed by junk is invalid JSON, with its offset", () => {
    expect(parseMessage("[] x")).toEqual({
      name: "KV_ERR",
      st: 3,
      m: "unexpected text after the JSON value at offset 3",
    });
  });

  test.each(["{}", " { \n } ", "\t{}\r\n"])(
    "an object with no member %j is 10 with m ''",
    (text) => {
      expect(parseMessage(text)).toEqual({ name: "KV_ERR", st: 10, m: "" });
    },
  );

  test.each([
    '{"KV_COUNT":{},"KV_COUNT":{}}',
    '{"KV_SET":{"a":1},"KV_GET":["a"]}',
    '{"KV_NOPE":1,"KV_OTHER":2}',
    '{"KV_GET":{},"x":null}',
    '{"a":1,"b":2,"c":3}',
  ])("two or more members %j are 11, before name and body type", (text) => {
    expect(parseMessage(text)).toEqual({ name: "KV_ERR", st: 11, m: "" });
  });

  test("JSON validity wins over the member count", () => {
    expect(parseMessage('{"a":1,"b":}')).toMatchObject({ name: "KV_ERR", st: 3 });
  });

  test.each([
    ["KV_NOPE", '{"KV_NOPE":null}'],
    ["kv_set", '{"kv_set":{"a":1}}'],
    ["Kv_Count", '{"Kv_Count":{}}'],
    ["KV_SET ", '{"KV_SET ":{"a":1}}'],
    ["", '{"":{}}'],
    ["KV_DELETE", '{"KV_DELETE":["a"]}'],
    ["KV_ERR", '{"KV_ERR":{"st":3}}'],
    ['a"b\\c', '{"a\\"b\\\\c":{}}'],
  ])("an unknown name %j is 10 with the name as m", (name, text) => {
    expect(parseMessage(text)).toEqual({ name: "KV_ERR", st: 10, m: name });
  });

  test.each(ALL_COMMANDS.map((c) => `${c}_RSP`))("the response name %s is 10", (name) => {
    expect(parseMessage(`{"${name}":{"st":1,"k":"a"}}`)).toEqual({
      name: "KV_ERR",
      st: 10,
      m: name,
    });
  });

  test("an unknown name wins over its body type", () => {
    expect(parseMessage('{"KV_NOPE":[1,2]}')).toEqual({ name: "KV_ERR", st: 10, m: "KV_NOPE" });
  });

  test("a command name written with escapes is that command", () => {
    expect(parseMessage('{"KV_\\u0043OUNT":{}}')).toEqual({ name: "KV_COUNT" });
  });
});

describe("parseMessage: body of the wrong JSON type is 12", () => {
  const objectBodies = ["[]", '["a"]', '"a"', "1", "null", "true", "false"];
  const arrayBodies = ["{}", '{"a":1}', '"a"', "1", "null", "true", "false"];

  for (const command of [...PAIR_COMMANDS, ...WHOLE_COMMANDS]) {
    test.each(objectBodies)(`${command} with %j`, (body) => {
      expect(parseMessage(`{"${command}":${body}}`)).toMatchObject({ name: "BODY_TYPE", command });
    });
  }
  for (const command of KEY_COMMANDS) {
    test.each(arrayBodies)(`${command} with %j`, (body) => {
      expect(parseMessage(`{"${command}":${body}}`)).toMatchObject({ name: "BODY_TYPE", command });
    });
  }

  test("body type is checked after the whole message is valid JSON", () => {
    expect(parseMessage('{"KV_GET":{"a":}}')).toMatchObject({ name: "KV_ERR", st: 3 });
    expect(parseMessage('{"KV_SET":[1,2}')).toMatchObject({ name: "KV_ERR", st: 3 });
  });

  test("a wrong body followed by a second member is 11", () => {
    expect(parseMessage('{"KV_SET":[],"KV_GET":{}}')).toEqual({ name: "KV_ERR", st: 11, m: "" });
  });
});

describe("parseMessage: commands", () => {
  test.each(WHOLE_COMMANDS)("%s ignores the members of its body", (command) => {
    expect(parseMessage(`{"${command}":{}}`)).toEqual({ name: command });
    expect(parseMessage(`{ "${command}" : { "x" : [1, {"y": 2}] } }`)).toEqual({ name: command });
  });

  test.each(PAIR_COMMANDS)("%s with an empty body has no keys", (command) => {
    expect(parseMessage(`{"${command}":{ }}`)).toEqual({
      name: command,
      keys: [],
      tokens: [],
      values: [],
    });
  });

  test.each(KEY_COMMANDS)("%s with an empty body has no keys", (command) => {
    expect(parseMessage(`{"${command}":[ ]}`)).toEqual({ name: command, keys: [], tokens: [] });
  });

  test.each(PAIR_COMMANDS)("%s keeps keys in order with their tokens and values", (command) => {
    expect(parseMessage(`{"${command}":{"b":1,"a":"x","c":null}}`)).toEqual({
      name: command,
      keys: ["b", "a", "c"],
      tokens: ['"b"', '"a"', '"c"'],
      values: ["1", '"x"', "null"],
    });
  });

  test("integer-like key names keep their order", () => {
    expect(parseMessage('{"KV_SET":{"10":1,"2":2,"a":3,"1":4}}')).toMatchObject({
      keys: ["10", "2", "a", "1"],
      values: ["1", "2", "3", "4"],
    });
  });

  test("keys are decoded while tokens stay as written", () => {
    expect(parseMessage('{"KV_SET":{"\\u0061\\n":1,"\\ud800":2,"é":3}}')).toEqual({
      name: "KV_SET",
      keys: ["a\n", "\ud800", "é"],
      tokens: ['"\\u0061\\n"', '"\\ud800"', '"é"'],
      values: ["1", "2", "3"],
    });
  });

  test("the empty string is a key", () => {
    expect(parseMessage('{"KV_SET":{"":0}}')).toMatchObject({ keys: [""], tokens: ['""'] });
    expect(parseMessage('{"KV_GET":[""]}')).toMatchObject({ keys: [""], tokens: ['""'] });
  });

  test("values are compact raw text", () => {
    const text =
      '{ "KV_SET" : { "a" : [ 1 , { "b" : " x  y " } ] ,\n "c" : { "10" : 1 , "2" : 2 } } }';
    expect(parseMessage(text)).toMatchObject({
      keys: ["a", "c"],
      values: ['[1,{"b":" x  y "}]', '{"10":1,"2":2}'],
    });
  });

  test("numbers and string escapes are kept exactly as written", () => {
    const text =
      '{"KV_SET":{"a":18446744073709551617,"b":1e400,"c":0.10,"d":-0,"e":"\\u00e9\\/","f":[ 9007199254740993 ]}}';
    expect(parseMessage(text)).toMatchObject({
      values: ["18446744073709551617", "1e400", "0.10", "-0", '"\\u00e9\\/"', "[9007199254740993]"],
    });
  });

  test("a repeated member name counts once, in its first place, with its last value", () => {
    expect(parseMessage('{"KV_SET":{"a":1,"b":2,"a":3,"c":4,"b":5,"a":6}}')).toEqual({
      name: "KV_SET",
      keys: ["a", "b", "c"],
      tokens: ['"a"', '"b"', '"c"'],
      values: ["6", "5", "4"],
    });
  });

  test("repeated names are compared after decoding escapes", () => {
    expect(parseMessage('{"KV_ADD":{"a":1,"\\u0061":2}}')).toEqual({
      name: "KV_ADD",
      keys: ["a"],
      tokens: ['"a"'],
      values: ["2"],
    });
  });

  test("repeated names among many keys are dropped too", () => {
    const members = Array.from({ length: 40 }, (_, i) => `"k${i % 20}":${i}`).join(",");
    const parsed = parseMessage(`{"KV_APPEND":{${members}}}`);
    expect(parsed).toMatchObject({
      keys: Array.from({ length: 20 }, (_, i) => `k${i}`),
      values: Array.from({ length: 20 }, (_, i) => `${i + 20}`),
    });
  });

  test("many distinct keys are all kept", () => {
    const members = Array.from({ length: 30 }, (_, i) => `"k${i}":${i}`).join(",");
    expect(parseMessage(`{"KV_SET":{${members}}}`)).toMatchObject({
      keys: Array.from({ length: 30 }, (_, i) => `k${i}`),
    });
  });

  test.each(KEY_COMMANDS)(
    "%s marks elements that are not strings with null and an empty token",
    (command) => {
      expect(
        parseMessage(`{"${command}":["a", 1, null, true, {"x":"y"}, ["b"], "c", -2.5e3]}`),
      ).toEqual({
        name: command,
        keys: ["a", null, null, null, null, null, "c", null],
        tokens: ['"a"', '""', '""', '""', '""', '""', '"c"', '""'],
      });
    },
  );

  test("a repeated key in an array is kept each time, in order", () => {
    expect(parseMessage('{"KV_RMV":["a","a","\\u0061"]}')).toEqual({
      name: "KV_RMV",
      keys: ["a", "a", "a"],
      tokens: ['"a"', '"a"', '"\\u0061"'],
    });
  });
});

describe("memory", () => {
  test("keys and values of a large message don't keep the message alive", () => {
    const kept: string[] = [];
    for (let i = 0; i < 50; i++) {
      const message = `{"KV_SET":{"k${i}":[${i}],"pad":"${"x".repeat(1_000_000)}"}}`;
      const command = parseMessage(message) as { keys: string[]; values: string[] };
      kept.push(command.keys[0] as string, command.values[0] as string);
    }
    Bun.gc(true);
    // 50 pinned messages would hold 50 MB; the copies hold a few bytes each.
    expect(heapStats().extraMemorySize).toBeLessThan(20_000_000);
    expect(kept.slice(0, 4)).toEqual(["k0", "[0]", "k1", "[1]"]);
  });
});
