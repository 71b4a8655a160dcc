import { COMMAND_NAMES, type Command, type CommandName } from "./commands.ts";
import { type Outcome, quietSuccess } from "./outcome.ts";
import { Status } from "./status.ts";

/**
 * Every response text of protocol version 1 is built here. Keys arrive as
 * their JSON tokens and values as compact JSON text, so nothing is encoded
 * twice.
 */

const statusPrefix = new Map<CommandName, string>();
for (const name of COMMAND_NAMES) statusPrefix.set(name, `{"${name}_RSP":{"st":`);

function prefix(command: CommandName): string {
  return statusPrefix.get(command) as string;
}

/** The responses to a command that ran, in order: one per key, or one for a whole-store command. */
export function encodeV1(command: Command, outcome: Outcome): string[] {
  switch (outcome.kind) {
    case "keys": {
      const { name } = command;
      const tokens = (command as { tokens: readonly string[] }).tokens;
      const { results } = outcome;
      const out: string[] = [];
      for (let i = 0; i < results.length; i++) {
        const result = results[i];
        if (typeof result === "string") out.push(found(tokens[i] as string, result));
        else if (typeof result === "number" && !quietSuccess(name, result)) {
          out.push(keyStatus(name, result, tokens[i] as string));
        }
      }
      return out;
    }
    case "count":
      return [counted(command.name as "KV_COUNT", outcome.cnt)];
    case "info":
      return [serverInfo(outcome.qryCnt, outcome.version)];
    case "failed":
      return [commandFailed(command.name, outcome.st, outcome.m)];
    case "page":
    case "watch":
      throw new Error(`${command.name} is not a command of protocol version 1`);
  }
}

/** `{"<CMD>_RSP":{"st":<st>,"k":<key>}}` */
export function keyStatus(command: CommandName, st: Status, keyToken: string): string {
  return `${prefix(command)}${st},"k":${keyToken}}}`;
}

/** `{"KV_GET_RSP":{<key>:<value>,"st":1}}` */
export function found(keyToken: string, value: string): string {
  return `{"KV_GET_RSP":{${keyToken}:${value},"st":1}}`;
}

/** `{"<CMD>_RSP":{"st":1,"cnt":N}}` for KV_COUNT and KV_CLEAR. */
export function counted(command: "KV_COUNT" | "KV_CLEAR", cnt: number): string {
  return `${prefix(command)}1,"cnt":${cnt}}}`;
}

/** A whole command that failed: `{"<CMD>_RSP":{"st":<st>,"m":<reason>}}`. */
export function commandFailed(command: CommandName, st: Status, reason: string): string {
  return `${prefix(command)}${st},"m":${JSON.stringify(reason)}}}`;
}

/** `{"KV_SERVER_INFO_RSP":{"st":1,"qryCnt":N,"version":"x.y.z"}}` */
export function serverInfo(qryCnt: number, version: string): string {
  return `${prefix("KV_SERVER_INFO")}1,"qryCnt":${qryCnt},"version":${JSON.stringify(version)}}}`;
}

/** `{"KV_ERR":{"st":<st>,"m":<reason>}}` */
export function messageError(st: Status, m: string): string {
  return `{"KV_ERR":{"st":${st},"m":${JSON.stringify(m)}}}`;
}

/** A known command whose body has the wrong JSON type. */
export function bodyTypeError(command: CommandName): string {
  return keyStatus(command, Status.CommandType, '""');
}
