import type { Kvfleet } from "kvfleet-client";
import { VERSION } from "../version.ts";
import { given, parseArgs, UsageError } from "./args.ts";
import { Exit, type Job } from "./command.ts";
import { checkUsage, failure, findCommand, open, serverUrl } from "./dispatch.ts";
import { commandHelp, helpText } from "./help.ts";
import { processStdin } from "./input.ts";
import { Printer } from "./output.ts";
import { shell } from "./shell.ts";

/** Resolves on SIGINT or SIGTERM: how a watch on the command line is ended. */
const interrupted = (): Promise<void> =>
  new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });

/**
 * `kvfleet [flags] [COMMAND ARGUMENTS]` other than `serve`: parses, checks usage before
 * connecting (a typo costs no connection), runs one command or the shell, and returns the
 * exit code.
 */
export async function run(argv: readonly string[], env: Record<string, string | undefined>) {
  let out = new Printer(false);
  let db: Kvfleet | undefined;
  try {
    const parsed = parseArgs(argv);
    out = new Printer(given(parsed, "json"));
    const [name, ...words] = parsed.words;
    if (given(parsed, "version")) {
      console.log(VERSION);
      return Exit.ok;
    }
    const command = name === undefined || name === "help" ? undefined : findCommand(name);
    if (given(parsed, "help") || name === "help") {
      const about = command ?? (words[0] === undefined ? undefined : findCommand(words[0]));
      console.log(about === undefined ? helpText() : commandHelp(about));
      return Exit.ok;
    }
    const stdin = process.stdin.isTTY ? undefined : processStdin;
    let job: Job | undefined;
    if (command !== undefined) {
      checkUsage(command, words, parsed);
      job = await command.prepare({ words, parsed, stdin });
    } else {
      // The shell takes only where to connect and how to print; `kvfleet --ttl 5` is a slip.
      const stray = Object.keys(parsed.flags).find((flag) => flag !== "url" && flag !== "json");
      if (stray !== undefined) throw new UsageError(`--${stray} needs a command`);
    }
    const url = serverUrl(parsed, env);
    db = await open(url, env.KVFLEET_TOKEN);
    if (job === undefined) return await shell({ db, url, json: out.json, env });
    return await job({ db, out, interrupted });
  } catch (error) {
    return failure(out, error);
  } finally {
    await db?.close();
  }
}
