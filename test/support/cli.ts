import type { Subprocess } from "bun";
import { runToEnd } from "./server.ts";

/** The `bin` of the root package.json, run as a user's shell would: `bun <bin> ...`. */
export const BIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Text for its stdin; without it stdin is empty (not a terminal). */
  stdin?: string;
  /** Its whole environment besides PATH and HOME. */
  env?: Record<string, string>;
}

const baseEnv = () => ({ PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" });

/** Runs `kvfleet args...` to its end (killed after 20 s). */
export const kvfleet = (args: string[], options: RunOptions = {}): Promise<Ran> =>
  runToEnd(["bun", BIN, ...args], { ...options, timeoutMs: 20_000 });

/** A `kvfleet` still running (watch, the shell), its output collected as it comes. */
export interface Running {
  readonly process: Subprocess<"pipe", "pipe", "pipe">;
  stdout(): string;
  stderr(): string;
  /** Resolves once `predicate` holds of the output so far; rejects with it after `ms`. */
  until(
    predicate: (out: { stdout: string; stderr: string }) => boolean,
    ms?: number,
  ): Promise<void>;
  /** Signals it and resolves with its exit code; SIGKILL after 10 s. */
  stop(signal?: NodeJS.Signals): Promise<number>;
  /** Resolves with its exit code once it ends by itself; SIGKILL after 10 s. */
  exited(): Promise<number>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /**
   * Run it on a pseudo-terminal (util-linux `script`), as a person at a terminal would:
   * stdin then feeds the terminal, and stdout is what the terminal shows.
   */
  terminal?: boolean;
}

/** A shell word for `script -c`, which hands its command to /bin/sh. */
const shellQuote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;

export function start(args: string[], options: StartOptions = {}): Running {
  const command = ["bun", BIN, ...args];
  const cmd = options.terminal
    ? [
        "script",
        "--quiet",
        "--flush",
        "--return",
        "--command",
        command.map(shellQuote).join(" "),
        "/dev/null",
      ]
    : command;
  const proc = Bun.spawn(cmd, {
    env: { ...baseEnv(), ...options.env },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const text = { stdout: "", stderr: "" };
  let wake = () => {};
  const collect = async (name: "stdout" | "stderr", stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text[name] += decoder.decode(chunk, { stream: true });
      wake();
    }
  };
  void collect("stdout", proc.stdout);
  void collect("stderr", proc.stderr);
  void proc.exited.then(() => wake());
  const exited = async () => {
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    const code = await proc.exited;
    clearTimeout(timer);
    return code;
  };
  return {
    process: proc,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    async until(predicate, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!predicate(text)) {
        const left = deadline - Date.now();
        if (left <= 0 || proc.exitCode !== null) {
          throw new Error(
            `gave up waiting; exit ${proc.exitCode}; output so far: ${JSON.stringify(text)}`,
          );
        }
        // Woken by output, an exit, or the deadline: no polling.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
    stop(signal = "SIGINT") {
      if (proc.exitCode === null) process.kill(proc.pid, signal);
      return exited();
    },
    exited,
  };
}
