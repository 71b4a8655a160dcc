import { describe, expect, test } from "bun:test";
import type { Command } from "../../src/protocol/commands.ts";
import type { Outcome } from "../../src/protocol/outcome.ts";
import { parseRequest } from "../../src/protocol/requests-v2.ts";
import { encodeV2, requestError } from "../../src/protocol/responses-v2.ts";

const parsed = (text: string): Command => {
  const request = parseRequest(text);
  if (!request.ok) throw new Error(request.m);
  return request.command;
};

describe("encodeV2: exact answers", () => {
  test("per-key elements: k then st then v or ttl; {st:26} for a non-string element", () => {
    const get = parsed('{"KV_GET":["a","st",7,"z\\u0061"]}');
    const outcome: Outcome = { kind: "keys", results: ['{"x":1}', "[1]", 26, 22] };
    expect(encodeV2(get, "7", outcome)).toEqual([
      '{"id":7,"KV_GET_RSP":[{"k":"a","st":1,"v":{"x":1}},{"k":"st","st":1,"v":[1]},{"st":26},{"k":"z\\u0061","st":22}]}',
    ]);
    const ttl = parsed('{"KV_TTL":["a","b","c"]}');
    expect(
      encodeV2(ttl, undefined, { kind: "keys", results: [{ ms: 5 }, { ms: null }, 22] }),
    ).toEqual([
      '{"KV_TTL_RSP":[{"k":"a","st":1,"ttl":5},{"k":"b","st":1,"ttl":null},{"k":"c","st":22}]}',
    ]);
  });

  test("quiet commands list failures only: [] with an id, nothing without", () => {
    const setq = parsed('{"KV_SETQ":{"a":1,"b":2}}');
    expect(encodeV2(setq, '"q"', { kind: "keys", results: [20, 21] })).toEqual([
      '{"id":"q","KV_SETQ_RSP":[]}',
    ]);
    expect(encodeV2(setq, undefined, { kind: "keys", results: [20, 21] })).toEqual([]);
    expect(encodeV2(setq, undefined, { kind: "keys", results: [20, 100] })).toEqual([
      '{"KV_SETQ_RSP":[{"k":"b","st":100}]}',
    ]);
    const addq = parsed('{"KV_ADDQ":{"a":1,"b":2}}');
    expect(encodeV2(addq, "1", { kind: "keys", results: [23, 20] })).toEqual([
      '{"id":1,"KV_ADDQ_RSP":[{"k":"a","st":23}]}',
    ]);
  });

  test("an empty body answers [] unless quiet without an id", () => {
    expect(encodeV2(parsed('{"KV_GET":[]}'), undefined, { kind: "keys", results: [] })).toEqual([
      '{"KV_GET_RSP":[]}',
    ]);
    expect(encodeV2(parsed('{"KV_ADDQ":{}}'), undefined, { kind: "keys", results: [] })).toEqual(
      [],
    );
  });

  test("whole-store answers and failures", () => {
    expect(encodeV2(parsed('{"KV_CLEAR":{}}'), "2", { kind: "count", cnt: 3 })).toEqual([
      '{"id":2,"KV_CLEAR_RSP":{"st":1,"cnt":3}}',
    ]);
    expect(
      encodeV2(parsed('{"KV_SERVER_INFO":{}}'), undefined, {
        kind: "info",
        qryCnt: 4,
        version: "1.2.3",
      }),
    ).toEqual(['{"KV_SERVER_INFO_RSP":{"st":1,"qryCnt":4,"version":"1.2.3","protocols":[1,2]}}']);
    expect(
      encodeV2(parsed('{"KV_KEYS":{}}'), "3", {
        kind: "page",
        keys: ["a", "\ud800"],
        cursor: null,
      }),
    ).toEqual(['{"id":3,"KV_KEYS_RSP":{"st":1,"keys":["a","\\ud800"],"cursor":null}}']);
    expect(
      encodeV2(parsed('{"KV_COUNT":{}}'), "4", { kind: "failed", st: 100, m: 'down "x"' }),
    ).toEqual(['{"id":4,"KV_ERR":{"st":100,"m":"down \\"x\\""}}']);
    expect(requestError(undefined, 3, "bad")).toBe('{"KV_ERR":{"st":3,"m":"bad"}}');
  });
});
