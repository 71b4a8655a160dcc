import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, waitFor } from "./redis.ts";

/** The exact file compose.yaml mounts into the lb container. */
export const HAPROXY_CFG = join(
  new URL("../..", import.meta.url).pathname,
  "deploy/haproxy/haproxy.cfg",
);

export interface Haproxy {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  port: number;
  /** ws://127.0.0.1:port/ */
  url: string;
  output: () => string;
}

/**
 * Runs haproxy with deploy/haproxy/haproxy.cfg in the foreground on a free
 * loopback port, in front of `backends` ("host:port"; the file names three
 * servers, so fewer are repeated in turn); resolves once it routes /healthz.
 */
export async function startHaproxy(backends: string[]): Promise<Haproxy> {
  if (Bun.which("haproxy") === null) {
    throw new Error("haproxy not found: install it with `apt-get install -y haproxy`");
  }
  for (let attempt = 1; ; attempt++) {
    const port = freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      LB_BIND: `127.0.0.1:${port}`,
    };
    for (const n of [1, 2, 3]) env[`LB_NODE${n}`] = backends[(n - 1) % backends.length] as string;
    const check = Bun.spawnSync(["haproxy", "-c", "-f", HAPROXY_CFG], { env });
    if (check.exitCode !== 0) {
      throw new Error(`haproxy -c rejects ${HAPROXY_CFG}:\n${check.stdout}${check.stderr}`);
    }
    const proc = Bun.spawn(["haproxy", "-db", "-f", HAPROXY_CFG], {
      env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    let output = "";
    for (const stream of [proc.stdout, proc.stderr]) {
      void (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
      })();
    }
    try {
      await waitFor("haproxy to route GET /healthz", async () => {
        if (proc.exitCode !== null) throw new Error(`haproxy exited:\n${output}`);
        try {
          return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
        } catch {
          return false;
        }
      });
      return { proc, port, url: `ws://127.0.0.1:${port}/`, output: () => output };
    } catch (err) {
      proc.kill("SIGKILL");
      await proc.exited;
      // Another process may take the port between probing and binding: try again.
      if (attempt >= 3 || !output.includes("cannot bind")) throw err;
    }
  }
}

/** Stops haproxy by PID (SIGTERM, then SIGKILL) and awaits its exit. */
export async function stopHaproxy(haproxy: Haproxy | undefined): Promise<void> {
  if (!haproxy || haproxy.proc.exitCode !== null || haproxy.proc.signalCode !== null) return;
  process.kill(haproxy.proc.pid, "SIGTERM");
  const timer = setTimeout(() => haproxy.proc.kill("SIGKILL"), 5000);
  await haproxy.proc.exited;
  clearTimeout(timer);
}
