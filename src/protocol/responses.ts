import { COMMAND_NAMES, type CommandName } from "./commands.ts";
import { Status } from "./status.ts";

/**
 * Every response text the server sends is built here. Keys arrive as their
 * JSON tokens and values as compact JSON text, so nothing is encoded twice.
 */

const statusPrefix = new Map<CommandName, string>();
const rspName = (command: CommandName): string => `${command}_RSP`;
for (const name of COMMAND_NAMES) {
  statusPrefix.set(name, `{"${rspName(name)}":{"st":`);
}

function prefix(command: CommandName): string {
  return statusPrefix.get(command) as string;
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

/**
 * The status of a response this module encoded, for metrics. A found value
 * ends its response with `"st":1`; every other response starts with its status.
 */
export function statusOf(text: string): number {
  if (text.endsWith(FOUND_END) && text.startsWith(FOUND_START)) return 1;
  let i = text.indexOf('"st":') + 5;
  let st = 0;
  for (
    let digit = text.charCodeAt(i) - 48;
    digit >= 0 && digit <= 9;
    digit = text.charCodeAt(++i) - 48
  ) {
    st = st * 10 + digit;
  }
  return st;
}

const FOUND_START = '{"KV_GET_RSP":';
const FOUND_END = ',"st":1}}';
