import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError } from "../../src/cli/args.ts";
import { splitWords, unquote } from "../../src/cli/words.ts";

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("no UsageError");
}

describe("parseArgs", () => {
  test("words and flags in any order, --name=value and --name value, -h", () => {
    expect(parseArgs(["--json", "set", "k", "--ttl=5", "1", "--url", "ws://h/", "-h"])).toEqual({
      words: ["set", "k", "1"],
      flags: { json: [""], ttl: ["5"], url: ["ws://h/"], help: [""] },
    });
  });

  test("negative numbers and - are words, -- ends the flags", () => {
    expect(parseArgs(["set", "n", "-1", "-", "-0.5", "--", "--json", "-h"]).words).toEqual([
      "set",
      "n",
      "-1",
      "-",
      "-0.5",
      "--json",
      "-h",
    ]);
  });

  test("repeatable flags collect their values; an empty value is a value", () => {
    expect(parseArgs(["watch", "--prefix", "a", "--prefix=", "--key", "k"]).flags).toEqual({
      prefix: ["a", ""],
      key: ["k"],
    });
  });

  test("bad usage says what is wrong", () => {
    expect(usageError(() => parseArgs(["--nope"]))).toBe("unknown flag --nope");
    expect(usageError(() => parseArgs(["-x"]))).toBe("unknown flag -x");
    expect(usageError(() => parseArgs(["--Json"]))).toBe("unknown flag --Json");
    expect(usageError(() => parseArgs(["--json=1"]))).toBe("--json takes no value");
    expect(usageError(() => parseArgs(["--ttl"]))).toBe("--ttl needs a value: --ttl MS");
    expect(usageError(() => parseArgs(["--ttl=1", "--ttl=2"]))).toBe("--ttl given twice");
    expect(usageError(() => parseArgs(["--json", "--json"]))).toBe("--json given twice");
  });
});

describe("splitWords (the shell's lines)", () => {
  test("JSON objects, arrays and strings are one word each, spaces and quotes inside kept", () => {
    expect(splitWords(`set k {"a": [1, "x }"], "b": {}}  --ttl 5`)).toEqual([
      "set",
      "k",
      `{"a": [1, "x }"], "b": {}}`,
      "--ttl",
      "5",
    ]);
    expect(splitWords(`set name "Ada \\"L\\" Lovelace"`)).toEqual([
      "set",
      "name",
      `"Ada \\"L\\" Lovelace"`,
    ]);
    expect(splitWords(`append list [4, [5]]`)).toEqual(["append", "list", "[4, [5]]"]);
  });

  test("single quotes give their text exactly; bare words run to a space", () => {
    expect(splitWords(`  get 'my key' {x} a"b  `)).toEqual(["get", "my key", "{x}", `a"b`]);
    expect(splitWords("")).toEqual([]);
  });

  test("unclosed quotes and brackets are refused", () => {
    expect(usageError(() => splitWords(`set k {"a": 1`))).toBe("a { is not closed");
    expect(usageError(() => splitWords(`set k "abc`))).toBe('a " is not closed');
    expect(usageError(() => splitWords(`get 'abc`))).toBe("a ' is not closed");
    expect(usageError(() => splitWords(`set k {}x`))).toBe("a space is missing after {}");
  });

  test("unquote reads a JSON string and leaves other words alone", () => {
    expect(unquote(`"my \\u0041 key"`)).toBe("my A key");
    expect(unquote("plain")).toBe("plain");
    expect(unquote(`"`)).toBe(`"`);
    expect(usageError(() => unquote(`"a\\x"`))).toBe(`"a\\x" is not a valid JSON string`);
  });
});
