import { writeJson } from "kvfleet-client";

/**
 * What every command prints goes through here, so that `--json` is one mode of one place:
 * in text mode a result is its words, in JSON mode one line of its fields. JSON is written by
 * the client's writer, which keeps numbers exact (big integers, long fractions) and member order.
 */
export class Printer {
  readonly json: boolean;

  constructor(json: boolean) {
    this.json = json;
  }

  /** A result: `text` on stdout, or with --json its `fields` as one line. */
  result(text: string, fields: Record<string, unknown>): void {
    writeOut(this.json ? writeJson(fields) : text);
  }

  /**
   * A result that is the absence of data (`get` of a missing key): with --json a line like any
   * other, in text mode a note on stderr, so that `v=$(kvfleet get k)` captures values only.
   */
  absent(text: string, fields: Record<string, unknown>): void {
    if (this.json) writeOut(writeJson(fields));
    else this.note(text);
  }

  /** A value as text: exact JSON on one line. */
  value(value: unknown): string {
    return writeJson(value);
  }

  /** An error, a refusal or a note for the person watching: text on stderr in either mode. */
  note(text: string): void {
    process.stderr.write(`kvfleet: ${text}\n`);
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

// A write to a closed pipe fails either at once or later, on the stream.
process.stdout.on("error", readerGone);

function writeOut(line: string): void {
  try {
    process.stdout.write(`${line}\n`);
  } catch (error) {
    readerGone(error);
  }
}
