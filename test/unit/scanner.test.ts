import { describe, expect, test } from "bun:test";
import { compact, JsonSyntaxError, Scanner, stringValue } from "../../src/json/scanner.ts";

/** Scans a whole document as parseMessage does: optional space, one value, optional space, end. */
function scan(text: string): Scanner {
  const sc = new Scanner(text);
  sc.skipSpace();
  sc.value();
  sc.skipSpace();
  if (!sc.atEnd()) sc.fail("unexpected text after the JSON value");
  return sc;
}

/** The error message a document fails with, or null when it is valid. */
function errorOf(text: string): string | null {
  try {
    scan(text);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(JsonSyntaxError);
    return (error as Error).message;
  }
}

const long = "x".repeat(40);

describe("Scanner: valid documents", () => {
  test.each([
    "0",
    "-0",
    "1",
    "-12.5e+3",
    "1E-7",
    "0.000",
    "true",
    "false",
    "null",
    '""',
    '"abc"',
    "[]",
    "{}",
    "[1,[2,[3]],{}]",
    '{"a":{"b":[null,true,false]},"c":""}',
    ' \t\r\n{ "a" : [ 1 , 2 ] }\n ',
    `"${long}"`,
    `"${long}\\n${long}\\"${long}"`,
    '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00"',
    '"é😀 \u2028"',
  ])("accepts %j", (text) => {
    expect(errorOf(text)).toBeNull();
  });

  test("consumes exactly one value and stops after it", () => {
    const sc = new Scanner('{"a":[1,2]} , 3');
    sc.value();
    expect(sc.pos).toBe(11);
  });

  test("a value ends exactly where its last token ends", () => {
    for (const text of ["12", "-0.5e10", '"a\\"b"', "[[]]", "null"]) {
      const sc = new Scanner(`${text}]`);
      sc.value();
      expect(sc.pos).toBe(text.length);
    }
  });
});

describe("Scanner: invalid documents name the offset", () => {
  test.each([
    ["", "unexpected end at offset 0"],
    ["   ", "unexpected end at offset 3"],
    ["[1,]", "unexpected character at offset 3"],
    ["[1 2]", "expected ',' or ']' at offset 3"],
    ['{"a" 1}', "expected ':' at offset 5"],
    ['{"a":1 "b":2}', "expected ',' or '}' at offset 7"],
    ["{a:1}", "expected a string at offset 1"],
    ['{"a":1,}', "expected a string at offset 7"],
    ["[", "unexpected end at offset 1"],
    ["[1", "expected ',' or ']' at offset 2"],
    ['{"a":1', "expected ',' or '}' at offset 6"],
    ["]", "unexpected character at offset 0"],
    ['"abc', "unterminated string at offset 4"],
    [`"${long}`, `unterminated string at offset ${long.length + 1}`],
    ['"a\u0001b"', "control character in string at offset 2"],
    ['"a\nb"', "control character in string at offset 2"],
    [`"${long}\tb"`, `control character in string at offset ${long.length + 1}`],
    ['"\\x"', "invalid escape at offset 2"],
    [`"${long}\\'"`, `invalid escape at offset ${long.length + 2}`],
    ['"\\u12G4"', "invalid \\u escape at offset 2"],
    ['"\\u12"', "invalid \\u escape at offset 2"],
    ["01", "unexpected text after the JSON value at offset 1"],
    ["[01]", "expected ',' or ']' at offset 2"],
    ["-", "invalid number at offset 1"],
    ["-a", "invalid number at offset 1"],
    ["1.", "invalid number at offset 2"],
    ["1.e5", "invalid number at offset 2"],
    ["1e", "invalid number at offset 2"],
    ["1e+", "invalid number at offset 3"],
    ["+1", "unexpected character at offset 0"],
    [".5", "unexpected character at offset 0"],
    ["tru", "invalid literal at offset 0"],
    ["nul", "invalid literal at offset 0"],
    ["True", "unexpected character at offset 0"],
    ["NaN", "unexpected character at offset 0"],
    ["[1] x", "unexpected text after the JSON value at offset 4"],
    ['{"a":1}}', "unexpected text after the JSON value at offset 7"],
  ])("rejects %j", (text, message) => {
    expect(errorOf(text)).toBe(message);
  });

  test("an escaped quote does not end a string", () => {
    expect(errorOf('"a\\"')).toBe("unterminated string at offset 4");
    expect(errorOf(`"${long}\\"`)).toBe(`unterminated string at offset ${long.length + 3}`);
  });
});

describe("Scanner: deep nesting", () => {
  const depth = 500_000;

  test("500,000 nested arrays scan without recursion", () => {
    const text = "[".repeat(depth) + "]".repeat(depth);
    const sc = scan(text);
    expect(sc.pos).toBe(text.length);
  });

  test("500,000 nested objects scan without recursion", () => {
    const text = `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
    expect(scan(text).pos).toBe(text.length);
  });

  test("an unclosed deep nesting fails at its end, not with a stack overflow", () => {
    expect(errorOf("[".repeat(depth))).toBe(`unexpected end at offset ${depth}`);
    const text = `${"[".repeat(depth)}1${"]".repeat(depth - 1)}`;
    expect(errorOf(text)).toBe(`expected ',' or ']' at offset ${text.length}`);
  });

  test("a mismatched closer deep inside is found", () => {
    const text = `${"[".repeat(1000)}{}${"]".repeat(999)}}`;
    expect(errorOf(text)).toBe(`expected ',' or ']' at offset ${text.length - 1}`);
  });
});

describe("Scanner: strings", () => {
  test.each([
    ['"plain"', false, "plain"],
    ['"a\\"b\\\\c\\/d"', true, 'a"b\\c/d'],
    ['"\\b\\f\\n\\r\\t"', true, "\b\f\n\r\t"],
    ['"\\u0061\\u00E9"', true, "aé"],
    ['"\\ud800"', true, "\ud800"],
    ['"x\\udc00y"', true, "x\udc00y"],
    ['"\\uD83D\\uDE00"', true, "😀"],
    ['"\ud800 raw lone surrogate"', false, "\ud800 raw lone surrogate"],
    [`"${long}\\u0041${long}"`, true, `${long}A${long}`],
  ])("%j: escaped %p, decodes to its value", (token, escaped, value) => {
    const sc = new Scanner(token);
    sc.string();
    expect(sc.pos).toBe(token.length);
    expect(sc.escaped).toBe(escaped);
    expect(stringValue(token, 0, sc.pos, sc.escaped)).toBe(value);
  });

  test("escaped resets for each string", () => {
    const text = '["\\n","x"]';
    const sc = new Scanner(text);
    sc.pos = 1;
    sc.string();
    expect(sc.escaped).toBe(true);
    sc.pos++;
    sc.string();
    expect(sc.escaped).toBe(false);
  });

  test("long strings after an earlier one still find their own escapes and control characters", () => {
    const ok = `["${long}","${long}\\n${long}","${long}"]`;
    expect(errorOf(ok)).toBeNull();
    const bad = `["${long}\\n","${long}\u0000"]`;
    expect(errorOf(bad)).toBe(`control character in string at offset ${bad.length - 3}`);
  });

  test("whitespace characters are allowed around strings but not inside them", () => {
    expect(errorOf(`[\n"${long}"\n]`)).toBeNull();
    expect(errorOf(`["${long}\r"]`)).toBe(
      `control character in string at offset ${long.length + 2}`,
    );
  });
});

describe("Scanner: numbers are kept as text", () => {
  test.each([
    "1e400",
    "-1e400",
    "18446744073709551617",
    "9007199254740993",
    "0.1000000000000000055511151231257827",
    "-0",
    "123456789012345678901234567890.5e-30",
  ])("%s is a valid token, kept verbatim", (number) => {
    const text = `[ ${number} ]`;
    const sc = scan(text);
    expect(sc.pos).toBe(text.length);
    expect(compact(text, 0, text.length)).toBe(`[${number}]`);
    const inner = new Scanner(number);
    inner.value();
    expect(inner.pos).toBe(number.length);
  });
});

describe("compact", () => {
  test.each([
    ["[ 1 , 2 ]", "[1,2]"],
    ['{ "a" :\n\t{ "b" : [ ] } }', '{"a":{"b":[]}}'],
    ['[ " a  b " , "\\" x " ]', '[" a  b ","\\" x "]'],
    ['"\\\\" , " y "', '"\\\\"," y "'],
    ['{"a b":" c\\td "}', '{"a b":" c\\td "}'],
    ["[\r\n1e400 ,\r\n18446744073709551617 ]", "[1e400,18446744073709551617]"],
    ["", ""],
  ])("%j -> %j", (text, expected) => {
    expect(compact(text, 0, text.length)).toBe(expected);
  });

  test("works on a slice of a larger text", () => {
    const text = '{"KV_SET":{"k": [ 1, " 2 " ] }}';
    const start = text.indexOf("[");
    const end = text.indexOf("]") + 1;
    expect(compact(text, start, end)).toBe('[1," 2 "]');
  });

  test("spaced tells whether a value held whitespace outside strings", () => {
    const sc = new Scanner('[1,"a b",{"c":2}]');
    sc.value();
    expect(sc.spaced).toBe(false);
    const spaced = new Scanner("[1, 2]");
    spaced.value();
    expect(spaced.spaced).toBe(true);
    const inObject = new Scanner('{"c" :2}');
    inObject.value();
    expect(inObject.spaced).toBe(true);
  });
});
