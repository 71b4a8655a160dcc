/** Where lines go: stdout and stderr for a command, the terminal for the shell. */
export interface Sink {
  out(line: string): void;
  err(line: string): void;
}

/** A JSON writer that keeps values exact (big integers, member order): the client's. */
export type Encode = (value: unknown) => string;

/**
 * What every command prints goes through here, so that `--json` is one mode of one place:
 * in text mode a result is its words, in JSON mode one line of its fields.
 */
export class Printer {
  readonly json: boolean;
  readonly #sink: Sink;
  readonly #encode: Encode;

  constructor(json: boolean, sink: Sink, encode: Encode) {
    this.json = json;
    this.#sink = sink;
    this.#encode = encode;
  }

  /** A result: `text` on stdout, or with --json its `fields` as one line. */
  result(text: string, fields: Record<string, unknown>): void {
    this.#sink.out(this.json ? this.#encode(fields) : text);
  }

  /**
   * A result that is the absence of data (`get` of a missing key): with --json a line like any
   * other, in text mode a note on stderr, so that `v=$(kvfleet get k)` captures values only.
   */
  absent(text: string, fields: Record<string, unknown>): void {
    if (this.json) this.#sink.out(this.#encode(fields));
    else this.#sink.err(text);
  }

  /** A value as text: exact JSON on one line. */
  value(value: unknown): string {
    return this.#encode(value);
  }

  /** A note for the person watching, on stderr in either mode: not a result. */
  note(text: string): void {
    this.#sink.err(`kvfleet: ${text}`);
  }

  /** An error or a refusal, always text on stderr: scripts read the exit code. */
  error(message: string): void {
    this.#sink.err(`kvfleet: ${message}`);
  }
}

/**
 * A reader that went away (`kvfleet keys | head -1`) asked for no more: end quietly with 0,
 * as there is nobody left to tell, rather than with a stack trace.
 */
function readerGone(error: unknown): void {
  if ((error as { code?: unknown }).code !== "EPIPE") throw error;
  process.exit(0);
}

process.stdout.on("error", readerGone);

/** The process's own stdout and stderr. */
export const processSink: Sink = {
  out(line) {
    try {
      process.stdout.write(`${line}\n`);
    } catch (error) {
      readerGone(error);
    }
  },
  err: (line) => process.stderr.write(`${line}\n`),
};
