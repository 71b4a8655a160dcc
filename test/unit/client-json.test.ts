import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { JsonNumber, JsonObject, readJson, writeJson } from "kvfleet-client";
import { plainJson } from "../../client/src/json-write.ts";

describe("readJson: exact numbers", () => {
  test.each([
    ["9007199254740991", 9007199254740991],
    ["-9007199254740991", -9007199254740991],
    ["9007199254740992", 9007199254740992n],
    ["18446744073709551617", 18446744073709551617n],
    ["-18446744073709551617", -18446744073709551617n],
    ["0.1", 0.1],
    ["1.0", 1],
    ["1E2", 100],
    ["2.5e-3", 0.0025],
    ["123456789.12345678", 123456789.12345678],
  ])("%s reads as %p", (text, value) => {
    expect(readJson(text)).toBe(value);
    expect(readJson(`[${text}]`)).toEqual([value]);
  });

  test("-0 stays -0", () => {
    expect(Object.is(readJson("-0"), -0)).toBe(true);
    expect(Object.is(readJson("[-0,1e1]"), -0)).toBe(false);
    expect(Object.is((readJson("[-0,1e1]") as number[])[0], -0)).toBe(true);
  });

  test.each([
    "1e400",
    "-1e400",
    "1e-400",
    "0.30000000000000000001",
    "3.141592653589793238462643383279",
  ])("%s, which no double holds, reads as a JsonNumber keeping its text", (text) => {
    const value = readJson(text);
    expect(value).toBeInstanceOf(JsonNumber);
    expect((value as JsonNumber).text).toBe(text);
    expect(writeJson(value)).toBe(text);
    expect(+(value as JsonNumber)).toBe(Number(text));
  });

  test('bigints: "number" reads big integers as the nearest double', () => {
    expect(readJson("18446744073709551617", { bigints: "number" })).toBe(2 ** 64);
    expect(readJson("1e400", { bigints: "number" })).toBeInstanceOf(JsonNumber);
  });

  test("any integer and any double's text round-trips", () => {
    fc.assert(
      fc.property(
        fc.bigInt(),
        (n) =>
          readJson(`[${n}]`)?.toString() === `${Number.isSafeInteger(Number(n)) ? Number(n) : n}`,
      ),
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const text = JSON.stringify(x);
        return writeJson(readJson(`[${text}]`)) === `[${text}]`;
      }),
    );
  });
});

describe("readJson: member order", () => {
  test("an object JavaScript would reorder reads as a JsonObject in the text's order", () => {
    const value = readJson('{"b":1,"10":2,"2":3,"a":{"9":0,"x":1}}');
    expect(value).toBeInstanceOf(JsonObject);
    const object = value as JsonObject;
    expect([...object.keys()]).toEqual(["b", "10", "2", "a"]);
    expect(object.get("a")).toEqual({ "9": 0, x: 1 });
    expect(Object.keys(object.toObject())).toEqual(["2", "10", "b", "a"]);
  });

  test("an escape spelling an integer-like name counts too", () => {
    const value = readJson('{"b":1,"\\u0031":2}') as JsonObject;
    expect([...value.entries()]).toEqual([
      ["b", 1],
      ["1", 2],
    ]);
  });

  test("a repeated name keeps its first place and its last value, as the server does", () => {
    for (const text of ['{"a":1,"b":2,"a":3}', '{"a":1,"b":2,"a":3,"n":1e400}']) {
      const value = readJson(text) as Record<string, unknown>;
      expect(Object.keys(value)).toEqual(text.includes("n") ? ["a", "b", "n"] : ["a", "b"]);
      expect(value.a).toBe(3);
    }
  });

  test("__proto__ is a member like any other", () => {
    for (const text of ['{"__proto__":{"x":1},"a":2}', '{"__proto__":{"x":1},"a":1e400}']) {
      const value = readJson(text) as Record<string, unknown>;
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.keys(value)).toEqual(["__proto__", "a"]);
      expect(writeJson(value)).toBe(text);
    }
  });

  test("any object text, in any member order, writes back as it was read", () => {
    const name = fc.oneof(
      fc.string(),
      fc.nat().map(String),
      fc.constantFrom("__proto__", "1", "0"),
    );
    const leaf = fc.oneof(fc.constant(null), fc.boolean(), fc.string(), fc.bigInt(), fc.integer());
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, leaf), { selector: ([n]) => n }), (members) => {
        const text = `{${members.map(([n, v]) => `${JSON.stringify(n)}:${typeof v === "bigint" ? v : JSON.stringify(v)}`).join(",")}}`;
        return writeJson(readJson(text)) === text;
      }),
    );
  });

  test("any JSON.stringify output writes back as it was read", () => {
    fc.assert(fc.property(fc.json(), (text) => writeJson(readJson(text)) === text));
  });
});

describe("readJson: invalid text", () => {
  test.each([
    ['{"a":}', 5],
    ["[1,]", 3],
    ['"abc', 0],
    ["1 2", 2],
    ['{"a" 1}', 5],
    ["[1e400,tru]", 7],
    ['["a\u0001",1e400]', 1],
  ])("%s is a SyntaxError at offset %d", (text, offset) => {
    expect(() => readJson(text)).toThrow(SyntaxError);
    expect(() => readJson(text)).toThrow(`invalid JSON at offset ${offset}:`);
  });
});

const BAD = {
  NaN: Number.NaN,
  Infinity: { a: [1, Number.POSITIVE_INFINITY] },
  "undefined in an array": [undefined],
  "a function": { f: () => 1 },
  "a symbol": { s: Symbol("s") },
  "a Map": { m: new Map() },
};

describe("writeJson", () => {
  test("bigint, JsonNumber and JsonObject exactly; toJSON and undefined members as JSON.stringify", () => {
    const ordered = new JsonObject([
      ["b", 1],
      ["1", 2n ** 64n],
    ]);
    expect(ordered.set("c", 3).set("b", 4).size).toBe(3);
    const date = new Date(0);
    expect(
      writeJson({ o: ordered, n: new JsonNumber("1e400"), d: date, gone: undefined, z: -0 }),
    ).toBe(
      '{"o":{"b":4,"1":18446744073709551616,"c":3},"n":1e400,"d":"1970-01-01T00:00:00.000Z","z":0}',
    );
  });

  test.each([
    ["NaN", "value is NaN"],
    ["Infinity", "value.a[1] is Infinity"],
    ["undefined in an array", "value[0] is undefined"],
    ["a function", "value.f is function"],
    ["a symbol", "value.s is symbol"],
    ["a Map", "value.m is a Map"],
  ])("a value with %s is a TypeError naming where", (what, message) => {
    const value = BAD[what as keyof typeof BAD];
    expect(() => writeJson(value)).toThrow(TypeError);
    expect(() => writeJson(value)).toThrow(message);
  });

  test("a cycle is a TypeError", () => {
    const a: Record<string, unknown> = {};
    a.self = [a];
    expect(() => writeJson(a)).toThrow("value.self[0] refers to itself");
  });

  test("plain values take JSON.stringify and write what the exact writer writes", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const fast = plainJson(value);
        expect(fast).toBe(JSON.stringify(value));
        // A bigint beside it sends the same value through the exact writer.
        expect(writeJson([value, 0n])).toBe(`[${fast},0]`);
      }),
      { seed: 13, numRuns: 300 },
    );
    const deep = JSON.parse(`${"[".repeat(70)}${"]".repeat(70)}`);
    class Point {
      x = 1;
    }
    for (const value of [
      1n,
      new JsonNumber("1e400"),
      new JsonObject([["1", 1]]),
      new Date(0),
      new Map(),
      Number.NaN,
      [undefined],
      new Array(2), // holes
      new Point(),
      { toJSON: () => 1 },
      deep,
    ]) {
      expect(plainJson(value)).toBeUndefined();
    }
    expect(writeJson(deep)).toBe(JSON.stringify(deep));
  });

  test("JsonNumber takes JSON numbers only", () => {
    expect(() => new JsonNumber("1e")).toThrow(TypeError);
    expect(() => new JsonNumber("NaN")).toThrow(TypeError);
  });
});

test("console.log shows a JsonObject's members in order and a JsonNumber's text", () => {
  expect(Bun.inspect(readJson('{"b":1,"2":{"x":18446744073709551617},"n":1e400}'))).toBe(
    'JsonObject { "b": 1, "2": { x: 18446744073709551617n }, "n": JsonNumber(1e400) }',
  );
  expect(Bun.inspect(new JsonObject())).toBe("JsonObject {}");
});
