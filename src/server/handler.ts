import type { Command } from "../protocol/commands.ts";
import { forEachAnswered, type Outcome } from "../protocol/outcome.ts";
import { parseMessage } from "../protocol/requests-v1.ts";
import { parseRequest } from "../protocol/requests-v2.ts";
import * as rsp from "../protocol/responses-v1.ts";
import { BINARY_FRAME, encodeV2, requestError } from "../protocol/responses-v2.ts";
import { Status } from "../protocol/status.ts";
import type { MaybePromise, Store } from "../store/store.ts";
import { execute, type ServerCounters } from "./execute.ts";
import { type MessageKind, type Metrics, NOT_A_COMMAND } from "./metrics.ts";
import type { Session } from "./watches.ts";

export type Message = string | Buffer;

/** The texts that answer one message, in order; a promise when the store answers later. */
export type Reply = MaybePromise<string[]>;

/** Turns one message into its reply; never throws, never rejects. */
export type Handler = (message: Message) => Reply;

export interface Handlers {
  readonly 1: Handler;
  /** Version 2's handler of one connection, whose watches `session` holds. */
  readonly 2: (session: Session) => Handler;
}

/**
 * The message handler of each protocol version: parse, execute on the store,
 * encode, count. Both versions run commands the same way (`execute.ts`);
 * they differ in how a request is read and how its answer is written.
 */
export function handlers(store: Store, counters: ServerCounters, metrics: Metrics): Handlers {
  /** Counts a message that never became a command: one answer, one status. */
  const refused = (text: string, st: Status, kind: MessageKind, started: number): string[] => {
    metrics.response(st);
    metrics.message(kind, (performance.now() - started) / 1000);
    return [text];
  };

  const run = (
    command: Command,
    started: number,
    encode: (outcome: Outcome) => string[],
    session?: Session,
  ): Reply => {
    const finish = (outcome: Outcome): string[] => {
      forEachAnswered(command, outcome, (st) => metrics.response(st));
      metrics.message(command.name, (performance.now() - started) / 1000);
      return encode(outcome);
    };
    const outcome = execute(command, store, counters, session);
    return outcome instanceof Promise ? outcome.then(finish) : finish(outcome);
  };

  const v1: Handler = (message) => {
    const started = performance.now();
    if (typeof message !== "string") {
      const text = rsp.messageError(Status.OpCodeInvalid, "binary frames are not accepted");
      return refused(text, Status.OpCodeInvalid, NOT_A_COMMAND, started);
    }
    try {
      const parsed = parseMessage(message);
      switch (parsed.name) {
        case "KV_ERR":
          return refused(rsp.messageError(parsed.st, parsed.m), parsed.st, NOT_A_COMMAND, started);
        case "BODY_TYPE":
          return refused(
            rsp.bodyTypeError(parsed.command),
            Status.CommandType,
            parsed.command,
            started,
          );
        default:
          return run(parsed, started, (outcome) => rsp.encodeV1(parsed, outcome));
      }
    } catch (error) {
      return refused(
        rsp.messageError(Status.Unknown, reason(error)),
        Status.Unknown,
        NOT_A_COMMAND,
        started,
      );
    }
  };

  const v2 =
    (session: Session): Handler =>
    (message) => {
      const started = performance.now();
      if (typeof message !== "string") {
        return refused(BINARY_FRAME, Status.OpCodeInvalid, NOT_A_COMMAND, started);
      }
      try {
        const request = parseRequest(message);
        if (!request.ok) {
          const { id, st, m } = request;
          return refused(requestError(id, st, m), st, NOT_A_COMMAND, started);
        }
        const { id, command } = request;
        return run(command, started, (outcome) => encodeV2(command, id, outcome), session);
      } catch (error) {
        return refused(
          requestError(undefined, Status.Unknown, reason(error)),
          Status.Unknown,
          NOT_A_COMMAND,
          started,
        );
      }
    };

  return { 1: v1, 2: v2 };
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : "");
