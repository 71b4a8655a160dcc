import { VERSION } from "../version.ts";
import { FLAGS, type FlagName, type FlagSpec } from "./args.ts";
import type { Command } from "./command.ts";
import { COMMANDS } from "./commands.ts";

/** Flags every command takes. */
export const COMMON_FLAGS: readonly FlagName[] = ["url", "json"];

const flagUsage = (name: FlagName): string => {
  const spec: FlagSpec = FLAGS[name];
  return spec.value === undefined ? `--${name}` : `--${name} ${spec.value}`;
};

/** `get KEY...`, `set KEY [VALUE] [--ttl MS]`: a command as it is typed. */
export const synopsis = (command: Command): string =>
  [command.name, ...command.params, ...command.flags.map((f) => `[${flagUsage(f)}]`)].join(" ");

const LINE_WIDTH = 100;

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

/** Rows padded to the widest first cell, the second wrapped to fit a terminal of 100 columns. */
function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  const indent = " ".repeat(width + 4);
  return rows.flatMap(([left, right]) => {
    const [first, ...more] = wrap(right, LINE_WIDTH - indent.length);
    return [`  ${left.padEnd(width)}  ${first}`, ...more.map((line) => indent + line)];
  });
}

/** `kvfleet --help`: every command and flag, from the tables that the parser also reads. */
export function helpText(): string {
  const flags = Object.keys(FLAGS) as FlagName[];
  return [
    `kvfleet ${VERSION}: the command line of kvfleet, a JSON key-value server over WebSockets.`,
    "",
    "Usage: kvfleet [--url URL] [--json] COMMAND [ARGUMENTS]",
    "       kvfleet [--url URL] [--json]          an interactive shell (help lists its commands)",
    "       kvfleet serve [SETTINGS]               run a server, as bun run start (kvfleet serve --help)",
    "",
    "Commands:",
    ...table(COMMANDS.map((c) => [synopsis(c), c.doc])),
    "",
    "Flags:",
    ...table(flags.map((f) => [flagUsage(f), FLAGS[f].doc])),
    "",
    "VALUE is JSON (a string is quoted: '\"Ada\"'), read from stdin when absent or -.",
    "Numbers are kept exact both ways. With --json each result or event is one JSON line;",
    'text or JSON, a missing key is noted on stderr or as {"found":false}.',
    "Environment: KVFLEET_URL (the default --url), KVFLEET_TOKEN (the server's token).",
    "Exit codes: 0 done, 1 not found or not done, 2 bad usage (clear without --yes too),",
    "3 cannot connect or the connection was lost.",
  ].join("\n");
}

/** `kvfleet get --help`, and `help get` in the shell. */
export function commandHelp(command: Command): string {
  const flags = [...command.flags, ...COMMON_FLAGS];
  return [
    `Usage: kvfleet ${synopsis(command)}`,
    "",
    command.doc,
    "",
    ...table(flags.map((f) => [flagUsage(f), FLAGS[f].doc])),
  ].join("\n");
}
