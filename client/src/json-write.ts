import { JsonNumber, JsonObject } from "./values.ts";

/**
 * Writes a value as JSON text, exactly: `bigint` as its digits, `JsonNumber`
 * as its text, `JsonObject` members in their order. As `JSON.stringify`
 * does, it calls `toJSON` (dates) and leaves out object members that are
 * `undefined`; what JSON cannot hold (NaN, Infinity, a function, a Map,
 * `undefined` in an array, a cycle) is a TypeError naming where it is.
 */
export function writeJson(value: unknown, where = "value"): string {
  const parts: string[] = [];
  write(value, where, parts, new Set());
  return parts.join("");
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
