import { type JsonValue, readJson } from "kvfleet-client";
import { UsageError } from "./args.ts";

/** Where a command's VALUE comes from when the command line has none, or says `-`. */
export type Stdin = (() => Promise<string>) | undefined;

/**
 * The JSON value a command writes: its argument, or all of stdin when the argument is absent
 * or `-` (`echo '{"a":1}' | kvfleet set k`). The shell has no stdin of its own to give: there
 * the value must be on the line. The client's reader keeps its numbers exact (big integers,
 * long fractions) and its member order.
 */
export async function readValue(word: string | undefined, stdin: Stdin): Promise<JsonValue> {
  let text = word;
  let from = "VALUE";
  if (text === undefined || text === "-") {
    if (stdin === undefined) throw new UsageError("VALUE is missing");
    text = await stdin();
    from = "the value on stdin";
  }
  if (text.trim() === "") throw new UsageError(`${from} is empty: give a JSON value`);
  try {
    return readJson(text);
  } catch (error) {
    // A bare word is the likeliest slip: say how a string is written.
    const word = text.trim();
    const hint = /^[\p{L}_][^\s"]{0,40}$/u.test(word) ? ` (a string is quoted: '"${word}"')` : "";
    throw new UsageError(`${from} is not JSON: ${(error as Error).message}${hint}`);
  }
}

/** All of the process's stdin, as text. */
export const processStdin = (): Promise<string> => Bun.stdin.text();
