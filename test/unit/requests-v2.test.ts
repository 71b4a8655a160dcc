import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseRequest } from "../../src/protocol/requests-v2.ts";

const error = (text: string) => {
  const request = parseRequest(text);
  if (request.ok) throw new Error(`${text} parsed as a command`);
  return { st: request.st, id: request.id, m: request.m };
};
const command = (text: string) => {
  const request = parseRequest(text);
  if (!request.ok) throw new Error(`${text} failed: ${request.st} ${request.m}`);
  return request;
};

describe("parseRequest: id", () => {
  test.each([
    ['{"id":7,"KV_COUNT":{}}', "7"],
    ['{"KV_COUNT":{},"id":0}', "0"],
    ['{"id":9007199254740991,"KV_COUNT":{}}', "9007199254740991"],
    ['{"id":123456789012345,"KV_COUNT":{}}', "123456789012345"],
    ['{"id":7, "KV_COUNT":{}}', "7"],
    ['{ "id" : 7 , "KV_COUNT":{}}', "7"],
    ['{"id":"a","KV_COUNT":{}}', '"a"'],
    ['{"id":"a\\u0062","KV_COUNT":{}}', '"a\\u0062"'],
    [`{"id":"${"é".repeat(64)}","KV_COUNT":{}}`, `"${"é".repeat(64)}"`],
    [`{"id":"${"😀".repeat(64)}","KV_COUNT":{}}`, `"${"😀".repeat(64)}"`],
  ])("%s keeps the id token as written", (text, id) => {
    expect(command(text).id).toBe(id);
  });

  test.each([
    "null",
    "true",
    "{}",
    "[]",
    '""',
    `"${"a".repeat(65)}"`,
    `"${"😀".repeat(65)}"`,
    "-1",
    "1.5",
    "1.0",
    "1e3",
    "9007199254740992",
    "12345678901234567890",
  ])("id %s is 3 naming id, and the answer has no id", (id) => {
    const e = error(`{"id":${id},"KV_COUNT":{}}`);
    expect(e).toMatchObject({ st: 3, id: undefined });
    expect(e.m).toContain("id");
  });

  test("a repeated id is 3 naming id", () => {
    expect(error('{"id":1,"id":2,"KV_COUNT":{}}')).toMatchObject({ st: 3, id: undefined });
  });
});

describe("parseRequest: which error wins", () => {
  test.each([
    ['{"id":1,"KV_GET":[}', 3, undefined],
    ['{"id":null,"A":1,"B":2}', 3, undefined],
    ['{"id":1}', 10, "1"],
    ['{"id":1,}', 3, undefined],
    ['{"id":01,"KV_COUNT":{}}', 3, undefined],
    ['{"id":1,"KV_COUNT":{},}', 3, undefined],
    ['{"id":1,"KV_COUNT"}', 3, undefined],
    ["{}", 10, undefined],
    ['{"id":1,"KV_GET":[],"KV_SET":{}}', 11, "1"],
    ['{"id":1,"NOPE":[],"ttl":5}', 11, "1"],
    ['{"id":1,"KV_GET":[],"ttl":5}', 11, "1"],
    ['{"id":1,"KV_APPEND":{},"ttl":5}', 11, "1"],
    ['{"id":1,"KV_SET":{},"ttl":5,"ttl":6}', 11, "1"],
    ['{"id":1,"ttl":5,"ttl":6}', 11, "1"],
    ['{"id":1,"ttl":5}', 10, "1"],
    ['{"id":1,"NOPE":{}}', 10, "1"],
    ['{"id":1,"KV_SET":[],"ttl":"x"}', 12, "1"],
    ['{"id":1,"KV_SET":{},"ttl":"x"}', 12, "1"],
    ['{"id":1,"KV_SET":{},"ttl":0}', 12, "1"],
    ['{"id":1,"KV_SET":{},"ttl":315360000001}', 12, "1"],
    ['{"id":1,"KV_SET":{},"ttl":1.5}', 12, "1"],
  ])("%s is %d", (text, st, id) => {
    expect(error(text)).toMatchObject({ st, id });
  });

  test("a bad ttl names ttl; a body of the wrong type names the command", () => {
    expect(error('{"KV_SET":{},"ttl":-1}').m).toContain("ttl");
    expect(error('{"KV_GET":{}}').m).toContain("KV_GET");
    expect(error('{"KV_KEYS":[]}').m).toContain("KV_KEYS");
  });

  test("an unknown command answers its name, as in version 1", () => {
    expect(error('{"KV_WATCHED":{}}').m).toBe("KV_WATCHED");
  });
});

describe("parseRequest: options and bodies", () => {
  test.each([
    ['{"KV_SET":{"a":1},"ttl":1000}', 1000],
    ['{"ttl":1e3,"KV_ADDQ":{"a":1}}', 1000],
    ['{"KV_SETQ":{"a":1},"ttl":1000.0}', 1000],
    ['{"KV_ADD":{"a":1},"ttl":315360000000}', 315360000000],
  ])("%s carries ttl %d", (text, ttl) => {
    expect(command(text).command).toMatchObject({ ttl });
  });

  test("a command without ttl carries none", () => {
    expect(command('{"KV_SET":{"a":1}}').command).not.toHaveProperty("ttl");
  });

  test("version 2 commands parse; their bodies keep version 1's rules", () => {
    expect(command('{"KV_EXPIRE":{"a":5,"a":"x"}}').command).toEqual({
      name: "KV_EXPIRE",
      keys: ["a"],
      tokens: ['"a"'],
      values: ['"x"'],
    });
    expect(command('{"KV_TTL":["a",1]}').command).toEqual({
      name: "KV_TTL",
      keys: ["a", null],
      tokens: ['"a"', '""'],
    });
    expect(command('{"KV_PERSIST":[]}').command).toEqual({
      name: "KV_PERSIST",
      keys: [],
      tokens: [],
    });
  });

  describe("KV_KEYS", () => {
    test.each([
      ["{}", { prefix: "", limit: 100 }],
      ['{"prefix":"u:","limit":5}', { prefix: "u:", limit: 5 }],
      ['{"cursor":null,"limit":1e3}', { prefix: "", limit: 1000 }],
      ['{"cursor":"abc"}', { prefix: "", limit: 100, cursor: "abc" }],
      ['{"limit":3,"limit":4}', { prefix: "", limit: 4 }],
    ])("%s", (body, query) => {
      expect(command(`{"KV_KEYS":${body}}`).command).toEqual({ name: "KV_KEYS", query });
    });

    test.each([
      ['{"prefix":1}', "prefix"],
      ['{"prefix":null}', "prefix"],
      ['{"limit":0}', "limit"],
      ['{"limit":1001}', "limit"],
      ['{"limit":2.5}', "limit"],
      ['{"limit":"5"}', "limit"],
      ['{"cursor":5}', "cursor"],
      ['{"limt":5}', "limt"],
    ])("%s is 12 naming %s", (body, member) => {
      const e = error(`{"id":"q","KV_KEYS":${body}}`);
      expect(e).toMatchObject({ st: 12, id: '"q"' });
      expect(e.m).toContain(member);
    });
  });
});

describe("parseRequest: the leading integer id's path", () => {
  /**
   * The same request with its id read by the member loop: a space after the
   * opening brace is skipped there, while the leading id's read wants `"id":`
   * right after it. (Every generated request starts with the brace.)
   */
  const general = (text: string) => {
    const request = parseRequest(`{ ${text.slice(1)}`);
    if (request.ok) return request;
    // A syntax error names its offset, one further on in the spaced text.
    const m = request.m.replace(/at offset (\d+)$/, (_, n: string) => `at offset ${Number(n) - 1}`);
    return { ...request, m };
  };

  const member = fc.oneof(
    fc.constantFrom('"id":7', '"id":0', '"id":01', '"id":"s"', '"id":1.5', '"id":null'),
    fc.constant('"id":1234567890123456'),
    fc.constantFrom('"i\\u0064":2', '"ttl":5', '"ttl":"x"', '"t\\u0074l":5'),
    fc.constantFrom('"KV_GET":["a","b"]', '"KV_GET":{}', '"KV_GET":[1]', '"KV_GET":[}'),
    fc.constantFrom('"KV_SET":{"a":1}', '"KV_SET":[]', '"KV_COUNT":{}', '"NOPE":[]'),
  );
  const request = fc
    .tuple(
      fc.array(member, { minLength: 0, maxLength: 4 }),
      fc.constantFrom(",", ", ", " ,"),
      fc.constantFrom("", ",", " x", "}", " "),
    )
    .map(([members, comma, tail]) => `{${members.join(comma)}}${tail}`);

  test("answers every request exactly as the general path does", () => {
    fc.assert(
      fc.property(request, (text) => {
        expect(parseRequest(text)).toEqual(general(text));
      }),
      { numRuns: 2000 },
    );
  });

  test.each([
    ['{"id":1,"KV_GET":["a"]}', "1"],
    ['{"id":12,"KV_SET":{"a":1},"ttl":5}', "12"],
    ['{"id":3,"ttl":5,"KV_ADD":{"a":1}}', "3"],
  ])("%s parses with id %s", (text, id) => {
    expect(command(text).id).toBe(id);
  });

  test.each([
    ['{"id":1,"i\\u0064":2,"KV_GET":[]}', 3, undefined],
    ['{"id":1,"KV_GET":{}}', 12, "1"],
    ['{"id":1,"NOPE":[]}', 10, "1"],
    ['{"id":1,"KV_GET":["a"]} x', 3, undefined],
    ['{"id":1,"KV_GET":["a"],}', 3, undefined],
    ['{"id":1,"KV_GET":["a"],"KV_RMV":["a"]}', 11, "1"],
  ])("%s is %d", (text, st, id) => {
    expect(error(text)).toMatchObject({ st, id });
  });
});
