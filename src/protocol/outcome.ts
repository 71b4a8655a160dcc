import type { Command, CommandName } from "./commands.ts";
import { Status } from "./status.ts";

/**
 * What running a command gave, before either protocol version writes it:
 * the results of a per-key command, one per key of its body (status 26 in
 * the place of an element that was not a string), or the one result of a
 * whole-store command.
 */
export type Outcome =
  | { readonly kind: "keys"; readonly results: readonly KeyResult[] }
  | { readonly kind: "count"; readonly cnt: number }
  | { readonly kind: "info"; readonly qryCnt: number; readonly version: string }
  | { readonly kind: "page"; readonly keys: readonly string[]; readonly cursor: string | null }
  /** KV_WATCH (1) and KV_UNWATCH (1, or 22 for a watch the connection does not have). */
  | { readonly kind: "watch"; readonly st: Status; readonly w: number }
  /** The whole command failed: 100 when the store could not run it, 12 for a cursor it did not make. */
  | { readonly kind: "failed"; readonly st: Status; readonly m: string };

/**
 * One key's result: a status, the JSON text of a stored value (KV_GET,
 * status 1), or the ms left before the key expires (KV_TTL, status 1; null
 * when it never does).
 */
export type KeyResult = Status | string | { readonly ms: number | null };

/** The status a key's result answers. */
export const statusOf = (result: KeyResult): Status =>
  typeof result === "number" ? result : Status.Ok;

/**
 * Whether a quiet command leaves this status unanswered: KV_SETQ answers only
 * keys neither set (20) nor updated (21), KV_ADDQ only keys not set.
 */
export function quietSuccess(name: CommandName, st: Status): boolean {
  switch (name) {
    case "KV_SETQ":
      return st === Status.KeySet || st === Status.KeyUpdated;
    case "KV_ADDQ":
      return st === Status.KeySet;
    default:
      return false;
  }
}

/** Calls `visit` with the status of every result an answer will carry, in order, for the metrics. */
export function forEachAnswered(
  command: Command,
  outcome: Outcome,
  visit: (st: Status) => void,
): void {
  switch (outcome.kind) {
    case "keys":
      for (const result of outcome.results) {
        const st = statusOf(result);
        if (!quietSuccess(command.name, st)) visit(st);
      }
      return;
    case "failed":
    case "watch":
      visit(outcome.st);
      return;
    default:
      visit(Status.Ok);
  }
}
