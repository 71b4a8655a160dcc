import { defineMember, JsonNumber, JsonObject, type JsonValue } from "./values.ts";

/** How the reader turns JSON into values. */
export interface ReadOptions {
  /** Integers beyond 2^53 - 1: exact `bigint` (default), or the nearest `number`. */
  bigints?: "bigint" | "number";
}

/**
 * Text that `JSON.parse` reads exactly as this reader would: no run of 16
 * digits (a double holds every number of up to 15 significant digits), no
 * exponent, no integer-like member name, no escape that could spell one.
 * Anything else takes the exact reader; a false alarm only costs time.
 */
const NEEDS_EXACT = /[0-9][0-9.]{15}|[0-9.][eE]|"(?:0|[1-9][0-9]*)"\s*:|\\u003/;

/** Reads one JSON text into values that keep its numbers and member order (see values.ts). */
export function readJson(text: string, options: ReadOptions = {}): JsonValue {
  if (!NEEDS_EXACT.test(text)) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      // Invalid: the exact reader says where, in the same words whatever the text.
    }
  }
  const reader = new Reader(text, options.bigints ?? "bigint");
  const value = reader.value();
  reader.end();
  return value;
}

const INTEGER = /^-?\d+$/;
const NUMBER_AT = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

class Reader {
  #at = 0;
  readonly #text: string;
  readonly #bigints: "bigint" | "number";

  constructor(text: string, bigints: "bigint" | "number") {
    this.#text = text;
    this.#bigints = bigints;
  }

  value(): JsonValue {
    this.#skip();
    const c = this.#text[this.#at];
    if (c === "{") return this.#object();
    if (c === "[") return this.#array();
    if (c === '"') return this.#string();
    if (c === "t") return this.#word("true", true);
    if (c === "f") return this.#word("false", false);
    if (c === "n") return this.#word("null", null);
    return this.#number();
  }

  end(): void {
    this.#skip();
    if (this.#at < this.#text.length) this.#fail("unexpected text after the value");
  }

  #object(): JsonValue {
    this.#at++;
    const members = new Map<string, JsonValue>();
    this.#skip();
    if (this.#text[this.#at] === "}") {
      this.#at++;
      return {};
    }
    for (;;) {
      this.#skip();
      if (this.#text[this.#at] !== '"') this.#fail("expected a member name");
      const name = this.#string();
      this.#skip();
      if (this.#text[this.#at] !== ":") this.#fail("expected ':'");
      this.#at++;
      // A repeated name keeps its first place and its last value, as the server does.
      members.set(name, this.value());
      if (this.#separator("}")) break;
    }
    const object: { [name: string]: JsonValue } = {};
    for (const [name, value] of members) defineMember(object, name, value);
    return sameOrder(Object.keys(object), members.keys()) ? object : new JsonObject(members);
  }

  #array(): JsonValue[] {
    this.#at++;
    const items: JsonValue[] = [];
    this.#skip();
    if (this.#text[this.#at] === "]") {
      this.#at++;
      return items;
    }
    do items.push(this.value());
    while (!this.#separator("]"));
    return items;
  }

  /** After a member or element: true at the closing bracket, false at a comma. */
  #separator(close: string): boolean {
    this.#skip();
    const c = this.#text[this.#at++];
    if (c === close) return true;
    if (c !== ",") this.#fail(`expected ',' or '${close}'`, this.#at - 1);
    return false;
  }

  #string(): string {
    const start = this.#at;
    let escaped = false;
    for (let i = start + 1; i < this.#text.length; i++) {
      const c = this.#text.charCodeAt(i);
      if (c === 0x5c) {
        escaped = true;
        i++;
      } else if (c < 0x20) {
        escaped = true; // Not allowed in JSON: JSON.parse below says so.
      } else if (c === 0x22) {
        this.#at = i + 1;
        const raw = this.#text.slice(start, i + 1);
        if (!escaped) return raw.slice(1, -1);
        try {
          return JSON.parse(raw) as string;
        } catch {
          this.#fail("invalid string", start);
        }
      }
    }
    this.#fail("unterminated string", start);
  }

  #number(): JsonValue {
    NUMBER_AT.lastIndex = this.#at;
    const match = NUMBER_AT.exec(this.#text);
    if (match === null) this.#fail("expected a value");
    const text = match[0];
    this.#at += text.length;
    const n = Number(text);
    if (INTEGER.test(text)) {
      return Number.isSafeInteger(n) || this.#bigints === "number" ? n : BigInt(text);
    }
    return Number.isFinite(n) && sameDecimal(text, String(n)) ? n : new JsonNumber(text);
  }

  #word<T extends JsonValue>(word: string, value: T): T {
    if (!this.#text.startsWith(word, this.#at)) this.#fail("expected a value");
    this.#at += word.length;
    return value;
  }

  #skip(): void {
    WHITESPACE.lastIndex = this.#at;
    WHITESPACE.exec(this.#text);
    this.#at = WHITESPACE.lastIndex;
  }

  #fail(what: string, at = this.#at): never {
    throw new SyntaxError(`invalid JSON at offset ${at}: ${what}`);
  }
}

function sameOrder(actual: string[], expected: Iterable<string>): boolean {
  let i = 0;
  for (const name of expected) if (actual[i++] !== name) return false;
  return true;
}

/** Whether two decimal numerals have the same value (`0.10` and `1e-1` do). */
function sameDecimal(a: string, b: string): boolean {
  return canonical(a) === canonical(b);
}

/** A numeral as sign, significant digits and exponent: "-0.0120" is "-12e-1". */
function canonical(numeral: string): string {
  const negative = numeral.startsWith("-");
  const [mantissa = "", exponent = "0"] = (negative ? numeral.slice(1) : numeral).split(/[eE]/);
  const [whole = "", fraction = ""] = mantissa.split(".");
  const all = whole + fraction;
  const lead = all.length - all.replace(/^0+/, "").length;
  const digits = all.slice(lead).replace(/0+$/, "");
  if (digits === "") return "0";
  return `${negative ? "-" : ""}${digits}e${Number(exponent) + whole.length - lead}`;
}
