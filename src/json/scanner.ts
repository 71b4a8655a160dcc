/**
 * A validating JSON scanner that walks text without building values.
 *
 * `JSON.parse` can't be used on the request path: it turns numbers into
 * doubles (2^64 + 1 would read back rounded) and moves integer-like member
 * names to the front of an object. The scanner instead reports where each
 * token starts and ends, so callers keep the exact source text of values.
 * Nesting is tracked on an explicit stack, never by recursion, so depth is
 * bounded only by the payload size.
 */

export class JsonSyntaxError extends Error {}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Container kinds by depth, shared: a scan never yields before it ends. */
let stack = new Uint8Array(256);

// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids raw control characters in strings; this finds them.
const CONTROL = /[\u0000-\u001f]/g;
const BACKSLASHES = /\\/g;

/** The index of the next match at or after `from`, or Infinity. */
function findFrom(pattern: RegExp, text: string, from: number): number {
  pattern.lastIndex = from;
  return pattern.exec(text)?.index ?? Number.POSITIVE_INFINITY;
}

const IN_ARRAY = 0;
const IN_OBJECT = 1;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isHex(c: number): boolean {
  return (c >= ZERO && c <= NINE) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

export class Scanner {
  /** Position of the next unread character. */
  pos = 0;
  /** Whether the last string scanned held an escape sequence. */
  escaped = false;
  /** Whether whitespace was skipped inside the last value scanned. */
  spaced = false;
  text: string;
  // Where the next control character and backslash are, found once per
  // stretch of text so that long strings are scanned natively.
  #nextControl = -1;
  #nextBackslash = -1;

  constructor(text: string) {
    this.text = text;
  }

  /** Starts over on `text`, so one scanner can serve every message. */
  reset(text: string): this {
    this.text = text;
    this.pos = 0;
    this.escaped = false;
    this.spaced = false;
    this.#nextControl = -1;
    this.#nextBackslash = -1;
    return this;
  }

  /** The character code at `pos`, NaN at the end. */
  peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** Skips whitespace; answers whether there was any. */
  skipSpace(): boolean {
    const s = this.text;
    const start = this.pos;
    // Bounded: reading past the end makes the JIT give up its fast charCodeAt.
    const n = s.length;
    let i = start;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c !== SPACE && c !== LF && c !== CR && c !== TAB) break;
      i++;
    }
    this.pos = i;
    return i !== start;
  }

  /** Consumes one expected character, after optional whitespace. */
  expect(code: number): void {
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) !== code)
      this.fail(`expected '${String.fromCharCode(code)}'`);
    this.pos++;
  }

  /**
   * After an element of a container: consumes ',' and the whitespace after
   * it (answers true), or the container's closing `close` (answers false).
   */
  more(close: number): boolean {
    this.skipSpace();
    const c = this.text.charCodeAt(this.pos);
    if (c === COMMA) {
      this.pos++;
      this.skipSpace();
      return true;
    }
    if (c !== close)
      this.fail(close === CLOSE_BRACE ? "expected ',' or '}'" : "expected ',' or ']'");
    this.pos++;
    return false;
  }

  /** Consumes the ':' after a member name and the whitespace around it. */
  colon(): void {
    this.expect(COLON);
    this.skipSpace();
  }

  /** Scans a string token starting at `pos`; sets `escaped`. */
  string(): void {
    const s = this.text;
    let i = this.pos;
    if (s.charCodeAt(i) !== QUOTE) this.fail("expected a string");
    i++;
    let escaped = false;
    // Short strings are cheapest char by char; long ones jump by indexOf.
    const fastEnd = i + 16;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        this.escaped = escaped;
        return;
      }
      if (c === BACKSLASH) {
        escaped = true;
        i = this.#escape(i + 1);
      } else if (c >= SPACE) {
        if (++i === fastEnd) break;
      } else {
        this.#failAt(i, Number.isNaN(c) ? "unterminated string" : "control character in string");
      }
    }
    for (;;) {
      const q = s.indexOf('"', i);
      if (q < 0) this.#failAt(s.length, "unterminated string");
      if (this.#nextControl < i) this.#nextControl = findFrom(CONTROL, s, i);
      if (this.#nextControl < q) this.#failAt(this.#nextControl, "control character in string");
      if (this.#nextBackslash < i) this.#nextBackslash = findFrom(BACKSLASHES, s, i);
      if (this.#nextBackslash < q) {
        escaped = true;
        i = this.#escape(this.#nextBackslash + 1);
        continue;
      }
      this.pos = q + 1;
      this.escaped = escaped;
      return;
    }
  }

  /** Scans any value starting at `pos` (no leading whitespace); sets `spaced`. */
  value(): void {
    const s = this.text;
    let depth = 0;
    let spaced = false;
    for (;;) {
      // A value starts here: a scalar, or the opening of a container.
      const c = s.charCodeAt(this.pos);
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.pos++;
        if (this.skipSpace()) spaced = true;
        const close = c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
        if (s.charCodeAt(this.pos) === close) {
          this.pos++;
        } else {
          this.#push(depth++, c === OPEN_BRACE ? IN_OBJECT : IN_ARRAY);
          if (c === OPEN_BRACE) spaced = this.#memberName() || spaced;
          continue;
        }
      } else {
        this.#scalar(c);
      }
      // A value ended: close containers until one has a next element.
      for (;;) {
        if (depth === 0) {
          this.spaced = spaced;
          return;
        }
        if (this.skipSpace()) spaced = true;
        const kind = stack[depth - 1];
        const d = s.charCodeAt(this.pos);
        this.pos++;
        if (d === COMMA) {
          if (this.skipSpace()) spaced = true;
          if (kind === IN_OBJECT) spaced = this.#memberName() || spaced;
          break;
        }
        if (d !== (kind === IN_OBJECT ? CLOSE_BRACE : CLOSE_BRACKET)) {
          this.pos--;
          this.fail(kind === IN_OBJECT ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        depth--;
      }
    }
  }

  /** Throws a syntax error that names the position. */
  fail(reason: string): never {
    throw new JsonSyntaxError(`${reason} at offset ${this.pos}`);
  }

  /** Scans `"name" :` and the whitespace after it; answers whether any was skipped. */
  #memberName(): boolean {
    this.string();
    let spaced = this.skipSpace();
    if (this.text.charCodeAt(this.pos) !== COLON) this.fail("expected ':'");
    this.pos++;
    if (this.skipSpace()) spaced = true;
    return spaced;
  }

  #push(depth: number, kind: number): void {
    if (depth === stack.length) {
      const grown = new Uint8Array(depth * 2);
      grown.set(stack);
      stack = grown;
    }
    stack[depth] = kind;
  }

  #scalar(c: number): void {
    if (c === QUOTE) this.string();
    else if (c === MINUS || isDigit(c)) this.#number();
    else if (c === 0x74) this.#literal("true");
    else if (c === 0x66) this.#literal("false");
    else if (c === 0x6e) this.#literal("null");
    else this.fail(Number.isNaN(c) ? "unexpected end" : "unexpected character");
  }

  #literal(word: string): void {
    if (!this.text.startsWith(word, this.pos)) this.fail("invalid literal");
    this.pos += word.length;
  }

  #number(): void {
    const s = this.text;
    let i = this.pos;
    if (s.charCodeAt(i) === MINUS) i++;
    if (s.charCodeAt(i) === ZERO) i++;
    else if (isDigit(s.charCodeAt(i))) while (isDigit(s.charCodeAt(++i)));
    else this.#failAt(i, "invalid number");
    if (s.charCodeAt(i) === DOT) {
      if (!isDigit(s.charCodeAt(++i))) this.#failAt(i, "invalid number");
      while (isDigit(s.charCodeAt(++i)));
    }
    if ((s.charCodeAt(i) | 0x20) === 0x65) {
      const sign = s.charCodeAt(++i);
      if (sign === PLUS || sign === MINUS) i++;
      if (!isDigit(s.charCodeAt(i))) this.#failAt(i, "invalid number");
      while (isDigit(s.charCodeAt(++i)));
    }
    this.pos = i;
  }

  /** Validates the escape whose letter is at `i`; answers the position after it. */
  #escape(i: number): number {
    const c = this.text.charCodeAt(i);
    if (c === 0x75) {
      for (let j = 1; j <= 4; j++) {
        if (!isHex(this.text.charCodeAt(i + j))) this.#failAt(i, "invalid \\u escape");
      }
      return i + 5;
    }
    // " \ / b f n r t
    if (
      c === QUOTE ||
      c === BACKSLASH ||
      c === 0x2f ||
      c === 0x62 ||
      c === 0x66 ||
      c === 0x6e ||
      c === 0x72 ||
      c === 0x74
    ) {
      return i + 1;
    }
    return this.#failAt(i, "invalid escape");
  }

  #failAt(i: number, reason: string): never {
    this.pos = i;
    return this.fail(reason);
  }
}

/** The text of a value with whitespace outside strings removed. */
export function compact(text: string, start: number, end: number): string {
  let out = "";
  let runStart = start;
  let inString = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === SPACE || c === LF || c === CR || c === TAB) {
      out += text.slice(runStart, i);
      runStart = i + 1;
    }
  }
  return out + text.slice(runStart, end);
}

/** The decoded value of the string token that ends at `end`, given the scanner saw it. */
export function stringValue(text: string, start: number, end: number, escaped: boolean): string {
  return escaped ? (JSON.parse(text.slice(start, end)) as string) : text.slice(start + 1, end - 1);
}
