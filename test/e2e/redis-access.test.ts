import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestClient } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { freePort, type RedisServer, redisCli, startRedis, waitFor } from "../support/redis.ts";
import { type SpawnedServer, spawnServer } from "../support/server.ts";
import { makeCertificates } from "../support/tls.ts";

const PASSWORD = "s3cret p@ss/word";
const URL_PASSWORD = encodeURIComponent(PASSWORD);

const readyz = async (server: SpawnedServer | TestNode) =>
  (await fetch(`${server.httpUrl}/readyz`)).status;

describe("Redis credentials in the URL", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
    const created = await redisCli(
      redis.port,
      "ACL",
      "SETUSER",
      "kvfleet",
      "on",
      `>${PASSWORD}`,
      "~*",
      "&*",
      "+@all",
    );
    expect(created.trim()).toBe("OK");
  });
  afterAll(() => redis.stop());

  // A process: the password must be in nothing it prints, whoever prints it.
  test("an ACL user and password from the environment work, and the password is never printed", async () => {
    const node = await spawnServer({
      env: { KVFLEET_REDIS_URL: `redis://kvfleet:${URL_PASSWORD}@127.0.0.1:${redis.port}` },
    });
    try {
      await waitFor("the node to be ready", async () => (await readyz(node)) === 200);
      const client = await TestClient.open(node.url);
      const key = crypto.randomUUID();
      expect(await client.ask({ KV_SET: { [key]: 1 } })).toEqual([
        { KV_SET_RSP: { st: 20, k: key } },
      ]);
      client.close();
      expect(node.output()).not.toContain(PASSWORD);
      expect(node.output()).not.toContain(URL_PASSWORD);
    } finally {
      await node.stop();
    }
  });

  test("a wrong password leaves the node up but unready, answering 100", async () => {
    const node = startNode([
      `--redis-url=redis://kvfleet:wrong@127.0.0.1:${redis.port}`,
      "--command-timeout=300",
    ]);
    try {
      expect(await readyz(node)).toBe(503);
      const client = await TestClient.open(node.url);
      expect(await client.ask({ KV_GET: ["k"] })).toEqual([{ KV_GET_RSP: { st: 100, k: "k" } }]);
      client.close();
    } finally {
      await node.stop();
    }
  });
});

describe("TLS with rediss://", () => {
  const dir = mkdtempSync(join(tmpdir(), "kvfleet-tls-"));
  const tlsPort = freePort();
  let redis: RedisServer;
  beforeAll(async () => {
    makeCertificates(dir);
    redis = await startRedis([
      "--tls-port",
      String(tlsPort),
      "--tls-cert-file",
      join(dir, "server.pem"),
      "--tls-key-file",
      join(dir, "server.key"),
      "--tls-ca-cert-file",
      join(dir, "ca.pem"),
      "--tls-auth-clients",
      "no",
    ]);
  });
  afterAll(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // A process: Bun reads NODE_EXTRA_CA_CERTS when the process starts.
  test("a node reaches Redis over TLS, trusting the CA given in NODE_EXTRA_CA_CERTS", async () => {
    const node = await spawnServer({
      args: [`--redis-url=rediss://127.0.0.1:${tlsPort}`],
      env: { NODE_EXTRA_CA_CERTS: join(dir, "ca.pem") },
    });
    try {
      await waitFor("the node to be ready over TLS", async () => (await readyz(node)) === 200);
      const client = await TestClient.open(node.url);
      const key = crypto.randomUUID();
      expect(await client.ask({ KV_ADD: { [key]: [1] } })).toEqual([
        { KV_ADD_RSP: { st: 20, k: key } },
      ]);
      client.close();
    } finally {
      await node.stop();
    }
  });

  // In this process: NODE_EXTRA_CA_CERTS is read when a process starts, and this one's lacks the CA.
  test("without trusting the CA the node refuses the server and stays unready", async () => {
    const node = startNode([`--redis-url=rediss://127.0.0.1:${tlsPort}`, "--command-timeout=300"]);
    try {
      expect(await readyz(node)).toBe(503);
    } finally {
      await node.stop();
    }
  });
});
