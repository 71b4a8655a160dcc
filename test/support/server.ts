import type { Subprocess } from "bun";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const START_LINE = /^kvfleet (\S+) listening on (ws:\/\/\S+) store=(.+) maxPayload=(\d+)$/m;

/** A kvfleet server running as a child process. */
export interface ServerProcess {
  readonly url: string;
  /** http://host:port, for the HTTP paths. */
  readonly httpUrl: string;
  readonly pid: number;
  readonly process: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Stops the process by PID (SIGTERM, then SIGKILL) and awaits its exit. */
  stop(): Promise<void>;
}

export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
}

/**
 * Starts `src/main.ts` on a free loopback port and resolves once it printed
 * its start line; rejects with its output when it exits first.
 */
export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  const proc = Bun.spawn(["bun", MAIN, "--ip=127.0.0.1", "--port=0", ...(options.args ?? [])], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>, onText: () => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      onText();
    }
  };
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const check = () => {
      const m = output.match(START_LINE);
      if (m) resolve(m);
    };
    void collect(proc.stdout, check);
    void collect(proc.stderr, check);
    void proc.exited.then((code) =>
      reject(new Error(`server exited with code ${code} before starting:\n${output}`)),
    );
  });
  const url = match[2] as string;
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    process.kill(proc.pid, "SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await proc.exited;
    clearTimeout(timer);
  };
  return {
    url,
    httpUrl: url.replace(/^ws/, "http").replace(/\/$/, ""),
    pid: proc.pid,
    process: proc,
    output: () => output,
    stop,
  };
}

/** Runs the server to completion, for start-up errors: its exit code and output. */
export async function runServer(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(["bun", MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
