/**
 * What a kvfleet value is in JavaScript. JSON numbers and objects carry more
 * than `number` and a plain object can: the server keeps numbers digit for
 * digit and members in their order, and so does this client.
 */

/** A JSON value as this client reads and writes it. */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonNumber
  | JsonObject
  | JsonValue[]
  | { [name: string]: JsonValue };

/**
 * A JSON number that a double cannot hold exactly and that is not an integer
 * literal (those read as `bigint`): `1e400`, `0.30000000000000000001`. It
 * keeps the number's text, and writes it back unchanged. `valueOf` gives the
 * nearest double, so `+n` and comparisons work, with that loss.
 */
export class JsonNumber {
  readonly text: string;

  constructor(text: string) {
    if (!NUMBER.test(text)) throw new TypeError(`not a JSON number: ${JSON.stringify(text)}`);
    this.text = text;
  }

  valueOf(): number {
    return Number(this.text);
  }

  toString(): string {
    return this.text;
  }

  toJSON(): number {
    return Number(this.text);
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `JsonNumber(${this.text})`;
  }
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * A JSON object whose member order a plain JavaScript object cannot keep:
 * objects put integer-like names ("1", "20") first, in ascending order. The
 * reader returns one only for such an object whose order would change (any
 * other object reads as a plain object); the writer writes its members in
 * order, so values pass through the client unchanged. Build one to write
 * members in an order of your choice.
 */
export class JsonObject {
  readonly #members: Map<string, JsonValue>;

  constructor(members: Iterable<readonly [string, JsonValue]> = []) {
    this.#members = new Map(members);
  }

  get size(): number {
    return this.#members.size;
  }

  get(name: string): JsonValue | undefined {
    return this.#members.get(name);
  }

  has(name: string): boolean {
    return this.#members.has(name);
  }

  /** Sets a member; a new name goes last, an existing one keeps its place. */
  set(name: string, value: JsonValue): this {
    this.#members.set(name, value);
    return this;
  }

  delete(name: string): boolean {
    return this.#members.delete(name);
  }

  keys(): IterableIterator<string> {
    return this.#members.keys();
  }

  entries(): IterableIterator<[string, JsonValue]> {
    return this.#members.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, JsonValue]> {
    return this.#members.entries();
  }

  /** A plain object of the same members (integer-like names move first, as JavaScript orders them). */
  toObject(): { [name: string]: JsonValue } {
    const object: { [name: string]: JsonValue } = {};
    for (const [name, value] of this.#members) defineMember(object, name, value);
    return object;
  }

  toJSON(): { [name: string]: JsonValue } {
    return this.toObject();
  }

  /** How console.log shows it in Bun and Node: its members in order, not its methods. */
  [Symbol.for("nodejs.util.inspect.custom")](
    _depth: number,
    options: unknown,
    inspect: (value: unknown, options: unknown) => string,
  ): string {
    const members = [...this.#members].map(
      ([name, value]) => `${JSON.stringify(name)}: ${inspect(value, options)}`,
    );
    return `JsonObject {${members.length === 0 ? "" : ` ${members.join(", ")} `}}`;
  }
}

/** Sets an own enumerable member, `__proto__` included (plain assignment would set the prototype). */
export function defineMember(
  object: { [name: string]: JsonValue },
  name: string,
  value: JsonValue,
): void {
  if (name === "__proto__") {
    Object.defineProperty(object, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    object[name] = value;
  }
}
