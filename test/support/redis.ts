import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const INSTALL_HINT = "install it with `apt-get install -y redis-server redis-tools`";
const READY_LINE = "Ready to accept connections";

/** A redis-server child process on a loopback port, in its own temp dir. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** PID of the current process; changes on restart. */
  readonly pid: number;
  /** Everything the current process wrote so far. */
  output(): string;
  /** SIGKILLs the server and awaits its exit; it stays down until restart. */
  kill(): Promise<void>;
  /** SIGKILLs the server if it runs, then starts it again on the same port and dir. */
  restart(): Promise<void>;
  /** Stops the server by PID (SIGTERM, then SIGKILL) and removes its dir. */
  stop(): Promise<void>;
}

/** Three cluster masters covering all slots, no replicas. */
export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  readonly urls: string[];
  /** Stops every node by PID. */
  stop(): Promise<void>;
}

/** Starts a standalone redis-server on a free loopback port; resolves once it answers PING. */
export function startRedis(args: string[] = []): Promise<RedisServer> {
  return startNode(args);
}

/**
 * Starts three cluster-enabled masters (and `replicas` replicas of each),
 * joins them with `redis-cli --cluster create` and resolves once every node
 * reports `cluster_state:ok` and every replica is in sync. A short node
 * timeout makes a replica take over from a dead master within seconds.
 */
export async function startRedisCluster({ replicas = 0 } = {}): Promise<RedisCluster> {
  requireBinary("redis-cli");
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let i = 0; i < 3 * (1 + replicas); i++) {
      nodes.push(
        await startNode(
          [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "1000",
            // A replica's first sync starts at once, not after the default 5 s wait for others.
            "--repl-diskless-sync-delay",
            "0",
          ],
          // The cluster bus needs a free port of its own.
          () => ["--cluster-port", String(freePort())],
        ),
      );
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    const create = await run([
      "redis-cli",
      "--cluster",
      "create",
      ...addresses,
      "--cluster-replicas",
      String(replicas),
      "--cluster-yes",
    ]);
    if (create.code !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.output}`);
    await waitFor("cluster_state:ok on every node", async () => {
      const infos = await Promise.all(nodes.map((node) => redisCli(node.port, "CLUSTER", "INFO")));
      return infos.every((info) => info.includes("cluster_state:ok"));
    });
    await waitFor("every replica in sync", async () => {
      const roles = await Promise.all(
        nodes.map((node) => redisCli(node.port, "INFO", "replication")),
      );
      return roles.every(
        (info) => info.includes("role:master") || info.includes("master_link_status:up"),
      );
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, urls: nodes.map((node) => node.url), stop };
}

/** Runs one command with redis-cli against a loopback port and answers its output. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  return (await run(["redis-cli", "-h", "127.0.0.1", "-p", String(port), ...args])).output;
}

/** Polls `condition` until it holds; fails after `ms` naming what it waited for. */
export async function waitFor(
  what: string,
  condition: () => Promise<boolean> | boolean,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

async function startNode(
  args: string[],
  perStart: () => string[] = () => [],
): Promise<RedisServer> {
  requireBinary("redis-server");
  const dir = mkdtempSync(join(tmpdir(), "kvfleet-redis-"));
  let extra: string[] = [];
  let port = 0;
  let proc: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let output = () => "";
  // Another process may take the port between probing and binding: try again.
  for (let attempt = 1; proc === undefined; attempt++) {
    port = freePort();
    extra = perStart();
    try {
      ({ proc, output } = await spawnRedis(port, dir, [...args, ...extra]));
    } catch (err) {
      if (attempt >= 5 || !String(err).includes("Address already in use")) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  let current = proc;
  const kill = async () => {
    if (current.exitCode !== null || current.signalCode !== null) return;
    process.kill(current.pid, "SIGKILL");
    await current.exited;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return current.pid;
    },
    output: () => output(),
    kill,
    async restart() {
      await kill();
      ({ proc: current, output } = await spawnRedis(port, dir, [...args, ...extra]));
    },
    async stop() {
      if (current.exitCode === null && current.signalCode === null) {
        process.kill(current.pid, "SIGTERM");
        const timer = setTimeout(() => current.kill("SIGKILL"), 5000);
        await current.exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Spawns redis-server and resolves once it accepts connections; rejects with its log if it exits first. */
async function spawnRedis(
  port: number,
  dir: string,
  args: string[],
): Promise<{ proc: Subprocess<"ignore", "pipe", "pipe">; output: () => string }> {
  const proc = Bun.spawn(
    [
      "redis-server",
      ...[
        ["--port", String(port)],
        ["--bind", "127.0.0.1"],
        ["--protected-mode", "yes"],
        ["--save", ""],
        ["--appendonly", "no"],
        ["--daemonize", "no"],
        ["--dir", dir],
      ].flat(),
      ...args,
    ],
    { cwd: dir, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        log += decoder.decode(chunk, { stream: true });
        if (log.includes(READY_LINE)) resolve();
      }
    };
    void collect(proc.stdout);
    void collect(proc.stderr);
    void proc.exited.then((code) =>
      reject(new Error(`redis-server on port ${port} exited with code ${code}:\n${log}`)),
    );
  });
  const pong = await redisCli(port, "PING");
  if (pong.trim() !== "PONG") {
    proc.kill("SIGKILL");
    throw new Error(`redis-server on port ${port} answered PING with ${pong}`);
  }
  return { proc, output: () => log };
}

/** A loopback port that was free a moment ago. */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

async function run(cmd: string[]): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, output: stdout + stderr };
}

function requireBinary(name: string): void {
  if (Bun.which(name) === null) throw new Error(`${name} not found: ${INSTALL_HINT}`);
}
