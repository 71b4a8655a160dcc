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
export interface SpawnedServer extends Listening {
  /** http://host:port, for the HTTP paths. */
  readonly httpUrl: string;
}

export interface SpawnOptions {
  args?: string[];
  env?: Record<string, string>;
}

/** A child process that prints a JSON start line with event "listening" and a url. */
export interface Listening {
  readonly url: string;
  readonly pid: number;
  readonly started: StartLine;
  readonly process: Subprocess<"ignore", "pipe", "pipe">;
  /** What it wrote to stdout and stderr so far (the last 100 kB of a long run). */
  output(): string;
  /** Stops the process by PID (SIGTERM, then SIGKILL) and awaits its exit. */
  stop(): Promise<void>;
}

const ROOT = new URL("../..", import.meta.url).pathname;

/**
 * Spawns `cmd` (paths relative to the repository) with only PATH and HOME
 * from this environment, and resolves once it printed its start line;
 * rejects with its output when it exits first.
 */
export async function spawnListening(
  cmd: string[],
  env: Record<string, string> = {},
): Promise<Listening> {
  const proc = Bun.spawn(cmd, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>, onText: () => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      // A soak logs for minutes; keep what a failure message needs.
      if (output.length > 1_000_000) output = output.slice(-100_000);
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
      reject(new Error(`${cmd.join(" ")} exited with code ${code} before starting:\n${output}`)),
    );
  });
  return {
    url: started.url,
    pid: proc.pid,
    started,
    process: proc,
    output: () => output,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      process.kill(proc.pid, "SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}

/** Starts `src/main.ts` on a free loopback port; resolves once it printed its start line. */
export async function spawnServer(options: SpawnOptions = {}): Promise<SpawnedServer> {
  const args = ["--ip=127.0.0.1", "--port=0", ...(options.args ?? [])];
  const server = await spawnListening(["bun", MAIN, ...args], options.env);
  return { ...server, httpUrl: server.url.replace(/^ws/, "http").replace(/\/$/, "") };
}

/** Runs the server to completion, for start-up errors: its exit code and output. */
export function runServer(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runToEnd(["bun", MAIN, ...args], { env });
}

/**
 * Runs `cmd` with only PATH and HOME of this environment besides `env`, `stdin` as its input
 * (none when absent), to its end: its exit code and output. Killed after `timeoutMs`, so that
 * a hang fails its test rather than stalling the suite.
 */
export async function runToEnd(
  cmd: string[],
  options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(cmd, {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? 10_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
