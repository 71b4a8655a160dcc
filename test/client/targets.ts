import { startNode, type TestNode } from "../support/node.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";

/** A server the shared client suite (api.test.ts) runs against. */
export interface Target {
  name: string;
  url: string;
  /** The server's token, when it has one. */
  token?: string;
  /** The length of a string value its store refuses (above its --max-memory): a write answers 100. */
  tooBig?: number;
}

/** The environment variable that hands targets to the suite when another process started them. */
export const TARGETS_ENV = "KVFLEET_CLIENT_TARGETS";

const TOKEN = "client-suite-token-0123456789";

/**
 * Starts the servers of the shared suite in this process: a memory store
 * with a token and a memory limit, and a Redis store (with its own
 * redis-server). Bun only: Node gets their addresses in TARGETS_ENV.
 */
export async function startTargets(): Promise<{ targets: Target[]; stop(): Promise<void> }> {
  const nodes: TestNode[] = [];
  let redis: RedisServer | undefined;
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  };
  try {
    nodes.push(
      startNode(["--max-memory=256Ki", "--max-payload=1048576"], {
        env: { KVFLEET_TOKEN: TOKEN },
      }),
    );
    redis = await startRedis();
    nodes.push(startNode([`--redis-url=${redis.url}`, "--max-payload=1048576"]));
  } catch (err) {
    await stop();
    throw err;
  }
  const [memory, onRedis] = nodes as [TestNode, TestNode];
  return {
    targets: [
      { name: "memory store", url: memory.url, token: TOKEN, tooBig: 300 * 1024 },
      { name: "Redis store", url: onRedis.url },
    ],
    stop,
  };
}
