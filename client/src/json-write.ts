import { JsonNumber, JsonObject } from "./values.ts";

/**
 * Writes a value as JSON text, exactly: `bigint` as its digits, `JsonNumber`
 * as its text, `JsonObject` members in their order. As `JSON.stringify`
 * does, it calls `toJSON` (dates) and leaves out object members that are
 * `undefined`; what JSON cannot hold (NaN, Infinity, a function, a Map,
 * `undefined` in an array, a cycle) is a TypeError naming where it is.
 */
export function writeJson(value: unknown, where = "value"): string {
  const fast = plainJson(value);
  if (fast !== undefined) return fast;
  const parts: string[] = [];
  write(value, where, parts, new Set());
  return parts.join("");
}

/**
 * `JSON.stringify(value)` when that is exactly what `writeJson` writes (only
 * strings, finite numbers, booleans, null, arrays without holes or
 * `undefined`, plain objects without `toJSON`, at most 64 deep), else
 * undefined: about four times faster for the values most applications write,
 * and the others keep the exact writer and its errors.
 */
export function plainJson(value: unknown): string | undefined {
  return plain(value, 0) ? JSON.stringify(value) : undefined;
}

function plain(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (depth >= 64) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || value[i] === undefined || !plain(value[i], depth + 1)) return false;
        }
        return true;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return false;
      if (typeof (value as { toJSON?: unknown }).toJSON === "function") return false;
      for (const name in value) {
        const item = (value as Record<string, unknown>)[name];
        if (item !== undefined && !plain(item, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

function write(value: unknown, where: string, out: string[], open: Set<object>): void {
  switch (typeof value) {
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "number":
      if (!Number.isFinite(value))
        throw new TypeError(`${where} is ${value}, which JSON cannot hold`);
      out.push(String(value === 0 ? 0 : value));
      return;
    case "bigint":
      out.push(value.toString());
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "object":
      if (value === null) out.push("null");
      else writeObject(value, where, out, open);
      return;
    default:
      throw new TypeError(`${where} is ${typeof value}, which JSON cannot hold`);
  }
}

function writeObject(value: object, where: string, out: string[], open: Set<object>): void {
  if (value instanceof JsonNumber) {
    out.push(value.text);
    return;
  }
  if (open.has(value)) throw new TypeError(`${where} refers to itself`);
  if (value instanceof Map || value instanceof Set) {
    throw new TypeError(
      `${where} is a ${value.constructor.name}; use a plain object, an array or JsonObject`,
    );
  }
  if (
    !(value instanceof JsonObject) &&
    typeof (value as { toJSON?: unknown }).toJSON === "function"
  ) {
    write((value as { toJSON(): unknown }).toJSON(), where, out, open);
    return;
  }
  open.add(value);
  if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item, i) => {
      if (i > 0) out.push(",");
      write(item, `${where}[${i}]`, out, open);
    });
    out.push("]");
  } else {
    const members = value instanceof JsonObject ? value.entries() : Object.entries(value);
    out.push("{");
    let first = true;
    for (const [name, item] of members) {
      if (item === undefined) continue;
      if (!first) out.push(",");
      first = false;
      out.push(JSON.stringify(name), ":");
      write(item, `${where}.${name}`, out, open);
    }
    out.push("}");
  }
  open.delete(value);
}
