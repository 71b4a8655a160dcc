/** Names of the protocol statuses, for messages. */
const STATUS_NAMES: Record<number, string> = {
  2: "binary frame",
  3: "invalid JSON",
  10: "unknown command",
  11: "several commands",
  12: "wrong body or option type",
  20: "key created",
  21: "key updated",
  22: "no such key",
  23: "key exists",
  24: "key removed",
  26: "key is not a string",
  41: "value of the wrong type",
  100: "store failure",
};

/**
 * A request that did not succeed. `status` is the protocol status the server
 * answered (100: the store failed for this call), or 0 when the client
 * itself gave up (the subclasses say why).
 */
export class KvfleetError extends Error {
  override name = "KvfleetError";
  readonly status: number;
  /** The key the status is about, for a per-key failure. */
  readonly key: string | undefined;

  constructor(status: number, message: string, key?: string) {
    super(message);
    this.status = status;
    this.key = key;
  }

  /** An error the server answered, with its status, reason and command. */
  static answered(command: string, status: number, reason: string, key?: string): KvfleetError {
    const what = STATUS_NAMES[status] ?? "error";
    const about = key === undefined ? "" : ` for key ${JSON.stringify(key)}`;
    const why = reason === "" ? "" : `: ${reason}`;
    return new KvfleetError(status, `${command} failed${about}: ${status} ${what}${why}`, key);
  }
}

/**
 * What became of a request that failed without an answer: "unknown" (it was
 * sent and may have run) or "not-run" (never sent, or sent to a draining node
 * that closed with 1001 without running it).
 */
export type Outcome = "unknown" | "not-run";

/**
 * The connection closed before the answer came. With `outcome` "unknown" the
 * request was sent and may or may not have run: the client never sends a
 * write again on its own after such a close, check the key before retrying.
 */
export class ConnectionLostError extends KvfleetError {
  override name = "ConnectionLostError";
  readonly outcome: Outcome;
  /** The WebSocket close code, when a close ended the connection. */
  readonly closeCode: number | undefined;

  constructor(message: string, outcome: Outcome, closeCode?: number) {
    super(0, message);
    this.outcome = outcome;
    this.closeCode = closeCode;
  }
}

/** No answer within `requestTimeout`; with `outcome` "unknown" the request may still run. */
export class RequestTimeoutError extends KvfleetError {
  override name = "RequestTimeoutError";
  readonly outcome: Outcome;

  constructor(message: string, outcome: Outcome) {
    super(0, message);
    this.outcome = outcome;
  }
}

/** The client could not open a connection (refused, 401, 403, 503, not kvfleet v2, timed out). */
export class ConnectError extends KvfleetError {
  override name = "ConnectError";
}

/** A sent request's error after a close other than 1001: it may have run. */
export function lost(command: string, code: number): ConnectionLostError {
  return new ConnectionLostError(
    `${command}: the connection closed (${code}) before the answer; it may or may not have run`,
    "unknown",
    code,
  );
}

/** A request's error when the session ended (closed, or gave up reconnecting) before its answer. */
export function ended(command: string, error: KvfleetError, sent: boolean): ConnectionLostError {
  return sent
    ? new ConnectionLostError(`${command}: ${error.message}; it may or may not have run`, "unknown")
    : new ConnectionLostError(`${command}: not sent: ${error.message}`, "not-run");
}

/** A request's error after `ms` without an answer. */
export function timedOut(command: string, ms: number, sent: boolean): RequestTimeoutError {
  return new RequestTimeoutError(
    sent
      ? `${command}: no answer within ${ms} ms; it was sent and may still run`
      : `${command}: not sent within ${ms} ms (still connecting or too many in flight)`,
    sent ? "unknown" : "not-run",
  );
}
