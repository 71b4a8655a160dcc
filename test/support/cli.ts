import type { Subprocess } from "bun";

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

/** Runs `kvfleet args...` to its end; killed after 20 s so that a hang fails rather than stalls. */
export async function kvfleet(args: string[], options: RunOptions = {}): Promise<Ran> {
  const proc = Bun.spawn(["bun", BIN, ...args], {
    env: { ...baseEnv(), ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

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
}

export function start(args: string[], options: { env?: Record<string, string> } = {}): Running {
  const proc = Bun.spawn(["bun", BIN, ...args], {
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
    async stop(signal = "SIGINT") {
      if (proc.exitCode === null) process.kill(proc.pid, signal);
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}
