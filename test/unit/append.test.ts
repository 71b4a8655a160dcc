import { describe, expect, test } from "bun:test";
import { appendJson } from "../../src/json/append.ts";

describe("appendJson: arrays", () => {
  test.each([
    ["[1,2]", "[3,4]", "[1,2,3,4]"],
    ["[]", "[]", "[]"],
    ["[]", "[1]", "[1]"],
    ["[1]", "[]", "[1]"],
    ['["a",{"b":[]}]', '[[1],null,"]"]', '["a",{"b":[]},[1],null,"]"]'],
    ["[[1,2]]", "[[3]]", "[[1,2],[3]]"],
    ["[18446744073709551617]", "[1e400]", "[18446744073709551617,1e400]"],
  ])("%s + %s = %s", (stored, added, expected) => {
    expect(appendJson(stored, added)).toBe(expected);
  });
});

describe("appendJson: objects", () => {
  test.each([
    ['{"a":1}', '{"b":2}', '{"a":1,"b":2}'],
    ['{"a":1}', '{"a":2}', '{"a":1}'],
    ['{"a":1,"b":2}', '{"b":3,"c":4,"a":5}', '{"a":1,"b":2,"c":4}'],
    ["{}", "{}", "{}"],
    ["{}", '{"a":1}', '{"a":1}'],
    ['{"a":1}', "{}", '{"a":1}'],
    ['{"10":1}', '{"2":2,"1":3}', '{"10":1,"2":2,"1":3}'],
    ['{"a":{"x":1}}', '{"a":{"y":2},"b":{"z":[3]}}', '{"a":{"x":1},"b":{"z":[3]}}'],
    ['{"a":[1]}', '{"a":[2]}', '{"a":[1]}'],
    ['{"a":"}"}', '{"b":"{,"}', '{"a":"}","b":"{,"}'],
    ['{"":0}', '{"":1,"x":2}', '{"":0,"x":2}'],
  ])("%s + %s = %s", (stored, added, expected) => {
    expect(appendJson(stored, added)).toBe(expected);
  });

  test("member names are compared after decoding escapes", () => {
    expect(appendJson('{"a":1}', '{"\\u0061":2}')).toBe('{"a":1}');
    expect(appendJson('{"\\u0061":1}', '{"a":2,"b":3}')).toBe('{"\\u0061":1,"b":3}');
    expect(appendJson('{"a\\"b":1}', '{"a\\u0022b":2}')).toBe('{"a\\"b":1}');
  });

  test("a name repeated in the added object is added once", () => {
    const out = appendJson('{"a":1}', '{"b":2,"b":3}');
    expect(out).not.toBeNull();
    expect(Object.keys(JSON.parse(out as string))).toEqual(["a", "b"]);
    expect((out as string).match(/"b"/g)).toHaveLength(1);
  });

  test("the result is valid JSON equal to the merge", () => {
    const stored = { x: 1, nested: { deep: [1, { e: null }] }, s: 'q"\\' };
    const added = { nested: "ignored", y: [true, false], "z z": { "": "" } };
    const out = appendJson(JSON.stringify(stored), JSON.stringify(added)) as string;
    expect(JSON.parse(out)).toEqual({ ...added, ...stored });
    expect(Object.keys(JSON.parse(out))).toEqual(["x", "nested", "s", "y", "z z"]);
  });
});

describe("appendJson: strings", () => {
  test.each([
    ['"ab"', '"cd"', '"abcd"'],
    ['""', '""', '""'],
    ['""', '"x"', '"x"'],
    ['"x"', '""', '"x"'],
    ['"a\\"b"', '"\\\\c"', '"a\\"b\\\\c"'],
    ['"\\u00e9"', '"\\n"', '"\\u00e9\\n"'],
    ['"\\\\"', '"\\""', '"\\\\\\""'],
    ['"é😀"', '"\\ud83d\\ude00"', '"é😀\\ud83d\\ude00"'],
  ])("%s + %s = %s", (stored, added, expected) => {
    const out = appendJson(stored, added);
    expect(out).toBe(expected);
    expect(JSON.parse(out as string)).toBe(
      (JSON.parse(stored) as string) + (JSON.parse(added) as string),
    );
  });

  test("a trailing backslash escape does not swallow the next string", () => {
    const out = appendJson('"a\\\\"', '"b"') as string;
    expect(JSON.parse(out)).toBe("a\\b");
  });
});

describe("appendJson: every other pair is a type error", () => {
  const samples = ["1", "-1", "0.5", "1e400", "true", "false", "null", '"s"', "[1]", '{"a":1}'];
  const kind = (text: string) => {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
  };
  const combinable = new Set(["array", "object", "string"]);

  for (const stored of samples) {
    for (const added of samples) {
      const ok = kind(stored) === kind(added) && combinable.has(kind(stored));
      test(`${stored} + ${added} ${ok ? "combines" : "is null"}`, () => {
        const out = appendJson(stored, added);
        if (ok) expect(out).not.toBeNull();
        else expect(out).toBeNull();
      });
    }
  }

  test.each([
    ["[]", "{}"],
    ["{}", "[]"],
    ['""', "[]"],
    ["[]", '""'],
    ["0", "0"],
    ["-0", "-0"],
    ["true", "true"],
    ["null", "null"],
  ])("%s + %s is null", (stored, added) => {
    expect(appendJson(stored, added)).toBeNull();
  });
});
