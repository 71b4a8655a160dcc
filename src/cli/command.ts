import type { Kvfleet } from "kvfleet-client";
import type { FlagName, Parsed } from "./args.ts";
import type { Stdin } from "./input.ts";
import type { Printer } from "./output.ts";

/** Exit codes that scripts can test. */
export const Exit = { ok: 0, notDone: 1, usage: 2, unreachable: 3 } as const;

/** A command as typed: what `prepare` checks and reads before any connection is opened. */
export interface Invocation {
  readonly words: readonly string[];
  readonly parsed: Parsed;
  /** Where a VALUE comes from when it is not an argument; undefined in the shell. */
  readonly stdin: Stdin;
}

/** What a prepared command runs with: the one-shot command line and the shell give their own. */
export interface Session {
  readonly db: Kvfleet;
  readonly out: Printer;
  /** Resolves when the user interrupts (SIGINT, Ctrl-C in the shell): the end of a watch. */
  interrupted(): Promise<void>;
}

/** A command ready to run: its arguments checked and its value read. Resolves to the exit code. */
export type Job = (session: Session) => Promise<number>;

/** One command of the table: its help, what it accepts, and what it does. */
export interface Command {
  readonly name: string;
  /** Positional parameters for the help and the shell: a trailing `...` repeats, `[ ]` is optional. */
  readonly params: readonly string[];
  /** What it does, prints and exits with, for `--help` (a sentence or two). */
  readonly doc: string;
  readonly flags: readonly FlagName[];
  /**
   * Checks the arguments and reads the value (a UsageError when they are wrong), so that bad
   * usage exits 2 without a connection, whether or not a server listens.
   */
  prepare(invocation: Invocation): Job | Promise<Job>;
}
