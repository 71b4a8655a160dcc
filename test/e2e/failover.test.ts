import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { scriptTable } from "../../src/store/redis-scripts.ts";
import { TestClient } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { type RedisCluster, redisCli, startRedisCluster, waitFor } from "../support/redis.ts";

type Rsp = Record<string, { st: number; k?: string } & Record<string, unknown>>;

describe("Redis Cluster failover: a master replaced by its replica", () => {
  let cluster: RedisCluster;
  let node: TestNode;
  beforeAll(async () => {
    cluster = await startRedisCluster({ replicas: 1 });
    node = startNode([
      "--max-payload=65536",
      "--command-timeout=500",
      `--redis-cluster=${cluster.urls.join(",")}`,
    ]);
  }, 60_000);
  afterAll(async () => {
    await node?.stop();
    await cluster?.stop();
  });

  test("keys of the dead master answer 100, then succeed on the same connection once its replica took over", async () => {
    const client = await TestClient.open(node.url);
    const keys = Array.from({ length: 30 }, (_, i) => `failover:${i}:${crypto.randomUUID()}`);
    const sets = (await client.ask(
      { KV_SET: Object.fromEntries(keys.map((k) => [k, [k]])) },
      keys.length,
    )) as Rsp[];
    expect(sets.every((rsp) => rsp.KV_SET_RSP?.st === 20)).toBe(true);

    // The master that holds the first key's slot, killed once its replica has all it wrote
    // (WAIT would not do: it waits for the writes of its own connection, and that has none).
    const first = keys[0] as string;
    const slot = (await redisCli(cluster.nodes[0]?.port ?? 0, "CLUSTER", "KEYSLOT", first)).trim();
    const owner = await findMaster(cluster, Number(slot));
    const replica = await findReplica(cluster, owner.port);
    const offset = async (port: number) =>
      Number(/^master_repl_offset:(\d+)/m.exec(await redisCli(port, "INFO", "replication"))?.[1]);
    await waitFor("the replica to reach the master's replication offset", async () => {
      const [master, copy] = await Promise.all([offset(owner.port), offset(replica.port)]);
      return master > 0 && copy === master;
    });
    // Redis 7 does not replicate SCRIPT LOAD: the node loads the scripts into the replica
    // itself, as soon as it learns of it (at ready, or on ioredis's +node a moment later).
    const setSha = new Bun.CryptoHasher("sha1").update(scriptTable(true).kvfleetSet).digest("hex");
    await waitFor(
      "the node to load its scripts into the replica",
      async () => (await redisCli(replica.port, "SCRIPT", "EXISTS", setSha)).trim() === "1",
    );
    await owner.kill();

    // While the cluster notices, that key's commands fail fast with 100 or already succeed.
    const [during] = (await client.ask({ KV_GET: [first] })) as Rsp[];
    expect([1, 100]).toContain(during?.KV_GET_RSP?.st ?? -1);

    await waitFor(
      "the replica to take over and the node to answer for every key",
      async () => {
        const answers = (await client.ask({ KV_GET: keys }, keys.length)) as Rsp[];
        return answers.every((rsp) => rsp.KV_GET_RSP?.st === 1);
      },
      30_000,
    );
    const answers = (await client.ask({ KV_GET: keys }, keys.length)) as Rsp[];
    for (const [i, rsp] of answers.entries()) {
      expect(rsp.KV_GET_RSP?.[keys[i] as string]).toEqual([keys[i]]);
    }
    expect(await client.ask({ KV_SET: { [first]: 1 } })).toEqual([
      { KV_SET_RSP: { st: 21, k: first } },
    ]);
    // The promoted replica had the scripts before the first write: no EVALSHA of it failed
    // NOSCRIPT, whose EVAL retry would have run after commands sent meanwhile.
    expect(await redisCli(replica.port, "INFO", "errorstats")).not.toContain("NOSCRIPT");
    client.close();
  }, 60_000);
});

/** The replica of the master on `port`. */
async function findReplica(cluster: RedisCluster, port: number) {
  for (const server of cluster.nodes) {
    const info = await redisCli(server.port, "INFO", "replication");
    if (info.includes("role:slave") && new RegExp(`^master_port:${port}\\b`, "m").test(info)) {
      return server;
    }
  }
  throw new Error(`no replica of the master on port ${port}`);
}

/** The master holding keys in `slot`: only the owner (and its replicas) count keys there. */
async function findMaster(cluster: RedisCluster, slot: number) {
  for (const server of cluster.nodes) {
    const role = await redisCli(server.port, "ROLE");
    if (!role.startsWith("master")) continue;
    const own = await redisCli(server.port, "CLUSTER", "COUNTKEYSINSLOT", String(slot));
    if (Number(own.trim()) > 0) return server;
  }
  throw new Error(`no master holds slot ${slot}`);
}
