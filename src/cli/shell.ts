import { appendFileSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import type { Kvfleet } from "kvfleet-client";
import { VERSION } from "../version.ts";
import { given, parseArgs, UsageError } from "./args.ts";
import { COMMANDS } from "./commands.ts";
import { checkUsage, failure, findCommand } from "./dispatch.ts";
import { commandHelp, synopsis } from "./help.ts";
import { Printer } from "./output.ts";
import { splitWords, unquote } from "./words.ts";

const HISTORY_SIZE = 1000;

export interface ShellOptions {
  readonly db: Kvfleet;
  readonly url: string;
  /** --json given when kvfleet started: every line's results as JSON. */
  readonly json: boolean;
  readonly env: Record<string, string | undefined>;
}

/**
 * The interactive shell (`kvfleet` with no command), like redis-cli: a prompt, the commands of
 * the command line one per line, `help`, history kept across runs. On a terminal it prompts and
 * reads `~/.kvfleet_history` (or $KVFLEET_HISTORY); from a pipe it runs the lines in order
 * without either, so a script can feed it. It ends at end of input, `quit` or Ctrl-C at the
 * prompt; Ctrl-C during `watch` ends the watch only.
 */
export async function shell(options: ShellOptions): Promise<number> {
  const terminal = process.stdin.isTTY === true;
  // An empty KVFLEET_HISTORY keeps no history, as HISTFILE= does in bash.
  const historyFile = options.env.KVFLEET_HISTORY ?? join(homedir(), ".kvfleet_history");
  const keepHistory = terminal && historyFile !== "";
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal,
    history: keepHistory ? loadHistory(historyFile) : [],
    historySize: HISTORY_SIZE,
    completer: (line: string) => {
      const names = [...COMMANDS.map((c) => c.name), "help", "quit"];
      const hits = names.filter((n) => n.startsWith(line.trim()));
      return [hits, line];
    },
  });
  const out = new Printer(options.json);
  if (terminal) {
    out.note(`${VERSION} connected to ${options.url}; help lists the commands, quit leaves`);
    rl.setPrompt(`${new URL(options.url).host}> `);
    rl.prompt();
  }
  for await (const line of rl) {
    if (keepHistory && line.trim() !== "") saveHistory(historyFile, line);
    const done = await runLine(line, options, rl);
    if (done) break;
    if (terminal) rl.prompt();
  }
  rl.close();
  return 0;
}

/** Runs one line; true when it asked to leave. A failure is printed and the shell goes on. */
async function runLine(line: string, options: ShellOptions, rl: Interface): Promise<boolean> {
  let out = new Printer(options.json);
  try {
    const parsed = parseArgs(splitWords(line));
    const [name, ...rest] = parsed.words;
    if (name === undefined) return false;
    if (name === "quit" || name === "exit") return true;
    if (name === "help") {
      console.log(rest[0] === undefined ? shellHelp() : commandHelp(findCommand(rest[0])));
      return false;
    }
    const command = findCommand(name);
    if (given(parsed, "url") || given(parsed, "version")) {
      throw new UsageError("--url and --version are for the command line that starts the shell");
    }
    if (given(parsed, "help")) {
      console.log(commandHelp(command));
      return false;
    }
    checkUsage(command, rest, parsed);
    // A VALUE keeps its JSON quotes; keys and flag values typed as "…" are the string inside.
    const words = rest.map((word, i) =>
      command.params[Math.min(i, command.params.length - 1)] === "[VALUE]" ? word : unquote(word),
    );
    const flags = Object.fromEntries(
      Object.entries(parsed.flags).map(([name, values]) => [name, values.map(unquote)]),
    );
    if (given(parsed, "json")) out = new Printer(true);
    const job = await command.prepare({
      words,
      parsed: { words, flags },
      stdin: undefined,
    });
    await job({ db: options.db, out, interrupted: () => interrupt(rl) });
  } catch (error) {
    try {
      failure(out, error);
    } catch (bug) {
      // A bug should not take the session down with it; its stack helps whoever reports it.
      console.error(bug);
    }
  }
  return false;
}

/** Resolves on Ctrl-C: the terminal's (readline's SIGINT) or, reading a pipe, the process's. */
function interrupt(rl: Interface): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      rl.off("SIGINT", done);
      process.off("SIGINT", done);
      resolve();
    };
    rl.on("SIGINT", done);
    process.on("SIGINT", done);
  });
}

function shellHelp(): string {
  return [
    "Commands, as on the command line (kvfleet --help), one a line:",
    ...COMMANDS.map((c) => `  ${synopsis(c)}`),
    "  help [COMMAND]   quit",
    'Values are JSON as typed: set k {"a": [1, 2]}, set name "Ada"; keys with spaces in \'…\' or "…".',
    "VALUE is required here (no stdin). Ctrl-C ends a watch; at the prompt it leaves.",
  ].join("\n");
}

/** The saved history, newest first as readline wants it. */
function loadHistory(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

function saveHistory(file: string, line: string): void {
  try {
    appendFileSync(file, `${line}\n`, { mode: 0o600 });
  } catch {
    // No history is no reason to refuse a command.
  }
}
