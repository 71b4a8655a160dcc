import { createHash } from "node:crypto";

/**
 * KV_KEYS cursors: a store's position in a listing, as opaque text a client
 * hands back. The text is the store kind and its JSON state in base64url,
 * then a check of both, so that a cursor typed by hand, cut short, or made by
 * another kind of store is refused (status 12) instead of silently listing
 * from somewhere else. The check is not a secret: it catches mistakes, not
 * forgers, and it lets every node of one store read the cursors of the others.
 */

const CHECK_BYTES = 9;

function check(payload: string): string {
  return createHash("sha256")
    .update(`kvfleet-cursor\0${payload}`)
    .digest()
    .subarray(0, CHECK_BYTES)
    .toString("base64url");
}

/** The cursor text of `state` (any JSON value) for a store of kind `kind`. */
export function encodeCursor(kind: string, state: unknown): string {
  const payload = Buffer.from(`${kind}\n${JSON.stringify(state)}`).toString("base64url");
  return `${payload}.${check(payload)}`;
}

/** The state of a cursor `encodeCursor(kind, state)` made, or undefined for any other text. */
export function decodeCursor(kind: string, text: string): unknown {
  const dot = text.indexOf(".");
  if (dot < 0) return undefined;
  const payload = text.slice(0, dot);
  if (text.slice(dot + 1) !== check(payload)) return undefined;
  const decoded = Buffer.from(payload, "base64url").toString();
  const newline = decoded.indexOf("\n");
  if (decoded.slice(0, newline) !== kind) return undefined;
  try {
    return JSON.parse(decoded.slice(newline + 1));
  } catch {
    return undefined;
  }
}
