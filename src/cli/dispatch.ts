import {
  ConnectError,
  ConnectionLostError,
  connect,
  type Kvfleet,
  KvfleetError,
  RequestTimeoutError,
} from "kvfleet-client";
import { type FlagName, flagValue, type Parsed, UsageError } from "./args.ts";
import { type Command, Exit } from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { COMMON_FLAGS } from "./help.ts";
import type { Printer } from "./output.ts";

const DEFAULT_URL = "ws://127.0.0.1:1987/";

/** The command a word names, or a UsageError saying where the list is. */
export function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    throw new UsageError(`unknown command ${JSON.stringify(name)} (kvfleet --help lists them)`);
  }
  return command;
}

/** The arguments a command got, against what its table row accepts. */
export function checkUsage(command: Command, words: readonly string[], parsed: Parsed): void {
  const repeats = command.params.some((p) => p.endsWith("..."));
  const min = command.params.filter((p) => !p.startsWith("[")).length;
  const max = repeats ? Number.POSITIVE_INFINITY : command.params.length;
  const usage = `usage: ${[command.name, ...command.params].join(" ")}`;
  if (words.length < min) {
    const missing = (command.params[words.length] as string).replace("...", "");
    throw new UsageError(`${missing} is missing; ${usage}`);
  }
  if (words.length > max) throw new UsageError(`too many arguments; ${usage}`);
  for (const name of Object.keys(parsed.flags) as FlagName[]) {
    const global = COMMON_FLAGS.includes(name) || name === "help" || name === "version";
    if (!global && !command.flags.includes(name)) {
      throw new UsageError(`${command.name} takes no --${name}`);
    }
  }
}

/** `--url`, else `KVFLEET_URL`, else the local default; a ws:// or wss:// URL. */
export function serverUrl(parsed: Parsed, env: Record<string, string | undefined>): string {
  const flag = flagValue(parsed, "url");
  const [url, from] =
    flag !== undefined
      ? [flag, "--url"]
      : env.KVFLEET_URL
        ? [env.KVFLEET_URL, "KVFLEET_URL"]
        : [DEFAULT_URL, ""];
  let protocol = "";
  try {
    protocol = new URL(url).protocol;
  } catch {
    // Not a URL at all: the same message as a URL of another scheme.
  }
  if (protocol !== "ws:" && protocol !== "wss:") {
    throw new UsageError(`${from} must be a ws:// or wss:// URL, like ${DEFAULT_URL}`);
  }
  return url;
}

/**
 * The connection every command uses. The client's reconnects are on for all: a watch and the
 * shell outlive a node's restart, and a one-shot command caught by a draining node (1001) is
 * sent again to the next one, which the protocol makes safe; after any other close a write is
 * never sent twice. Only the first attempt to connect is never repeated: exit 3 comes at once.
 */
export function open(url: string, token: string | undefined): Promise<Kvfleet> {
  return connect(url, { token: token === "" ? undefined : token });
}

/**
 * What a failed command prints and exits with. Errors that are not the user's or the
 * server's (bugs) are rethrown, so that they come with their stack.
 */
export function failure(out: Printer, error: unknown): number {
  if (error instanceof UsageError) {
    out.note(error.message);
    return Exit.usage;
  }
  // A server that stops answering is as unreachable as one that refuses; the message says
  // whether the request may have run.
  const unreachable =
    error instanceof ConnectError ||
    error instanceof ConnectionLostError ||
    error instanceof RequestTimeoutError;
  if (unreachable) {
    out.note(error.message);
    return Exit.unreachable;
  }
  if (error instanceof KvfleetError) {
    out.note(error.message);
    return Exit.notDone;
  }
  throw error;
}
