import type { Subprocess } from "bun";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
/** The start event: one JSON line with event "listening". */
export interface StartLine {
  version: string;
  url: string;
  store: string;
  maxPayload: number;
  config: Record<string, unknown>;
}

/** The start event among the lines the server printed, if it printed it yet. */
export function startLine(output: string): StartLine | undefined {
  for (const line of output.split("\n")) {
    if (!line.startsWith("{") || !line.includes('"event":"listening"')) continue;
    try {
      return JSON.parse(line) as StartLine;
    } catch {
      // A line still being written.
    }
  }
  return undefined;
}

/** A kvfleet server running as a child process. */
export interface ServerProcess {
  readonly url: string;
  /** http://host:port, for the HTTP paths. */
  readonly httpUrl: string;
  readonly pid: number;
  /** The start event. */
  readonly started: StartLine;
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
  const started = await new Promise<StartLine>((resolve, reject) => {
    const check = () => {
      const line = startLine(output);
      if (line) resolve(line);
    };
    void collect(proc.stdout, check);
    void collect(proc.stderr, check);
    void proc.exited.then((code) =>
      reject(new Error(`server exited with code ${code} before starting:\n${output}`)),
    );
  });
  const url = started.url;
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
    started,
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
