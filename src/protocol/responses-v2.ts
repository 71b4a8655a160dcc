import { COMMAND_NAMES, type Command, type CommandName } from "./commands.ts";
import type { Change } from "./events.ts";
import { type Outcome, quietSuccess } from "./outcome.ts";
import { Status } from "./status.ts";

/**
 * Every answer text of protocol version 2: exactly one per request, `id`
 * first when the request had one (its token as written), then one member
 * `<CMD>_RSP` or `KV_ERR`. The only request left unanswered is a quiet
 * command without an `id` whose keys all succeeded.
 */

const open = (id: string | undefined): string => (id === undefined ? "{" : `{"id":${id},`);

/** `"<CMD>_RSP":[` of each command, built once rather than per answer. */
const elementsOpen = new Map<CommandName, string>();
for (const name of COMMAND_NAMES) elementsOpen.set(name, `"${name}_RSP":[`);

/** The answer to a command that ran: none, or one text. */
export function encodeV2(command: Command, id: string | undefined, outcome: Outcome): string[] {
  const { name } = command;
  switch (outcome.kind) {
    case "keys": {
      const { keys, tokens } = command as {
        keys: readonly (string | null)[];
        tokens: readonly string[];
      };
      const { results } = outcome;
      let elements = "";
      for (let i = 0; i < results.length; i++) {
        const result = results[i];
        let element: string;
        if (typeof result === "string") {
          element = `{"k":${tokens[i]},"st":1,"v":${result}}`;
        } else if (typeof result === "object") {
          element = `{"k":${tokens[i]},"st":1,"ttl":${result.ms ?? "null"}}`;
        } else if (quietSuccess(name, result as Status)) {
          continue;
        } else {
          element = keys[i] === null ? `{"st":${result}}` : `{"k":${tokens[i]},"st":${result}}`;
        }
        elements = elements === "" ? element : `${elements},${element}`;
      }
      if (elements === "" && id === undefined && (name === "KV_SETQ" || name === "KV_ADDQ"))
        return [];
      // One template rather than nested ones: fewer pieces for the socket to flatten.
      const rsp = elementsOpen.get(name) as string;
      return [id === undefined ? `{${rsp}${elements}]}` : `{"id":${id},${rsp}${elements}]}`];
    }
    case "count":
      return [`${open(id)}"${name}_RSP":{"st":1,"cnt":${outcome.cnt}}}`];
    case "info":
      return [
        `${open(id)}"KV_SERVER_INFO_RSP":{"st":1,"qryCnt":${outcome.qryCnt},"version":${JSON.stringify(outcome.version)},"protocols":[1,2]}}`,
      ];
    case "page":
      return [
        `${open(id)}"KV_KEYS_RSP":{"st":1,"keys":${JSON.stringify(outcome.keys)},"cursor":${JSON.stringify(outcome.cursor)}}}`,
      ];
    case "watch":
      return [`${open(id)}"${name}_RSP":{"st":${outcome.st},"w":${outcome.w}}}`];
    case "failed":
      return [requestError(id, outcome.st, outcome.m)];
  }
}

/**
 * What follows `"w":n` in a change's event, the same for every watch it
 * goes to, so it is encoded once: `,"k":<key>,"op":"set","v":<value>}}`.
 */
export function eventTail(change: Change): string {
  switch (change.op) {
    case "set":
    case "append":
      return `,"k":${JSON.stringify(change.key)},"op":"${change.op}","v":${change.value}}}`;
    case "rmv":
    case "expire":
      return `,"k":${JSON.stringify(change.key)},"op":"${change.op}"}}`;
    case "clear":
      return ',"op":"clear"}}';
  }
}

/** The tail of the event that tells a watch it may have missed changes. */
export const RESET_TAIL = ',"op":"reset"}}';

/** `{"KV_EVENT":{"w":n,...}}` */
export function eventText(w: number, tail: string): string {
  return `{"KV_EVENT":{"w":${w}${tail}`;
}

/** `{"id":<id>,"KV_ERR":{"st":<st>,"m":<reason>}}`, without `id` when it could not be read. */
export function requestError(id: string | undefined, st: Status, m: string): string {
  return `${open(id)}"KV_ERR":{"st":${st},"m":${JSON.stringify(m)}}}`;
}

/** A binary frame: no request could be read from it. */
export const BINARY_FRAME = requestError(
  undefined,
  Status.OpCodeInvalid,
  "binary frames are not accepted",
);
