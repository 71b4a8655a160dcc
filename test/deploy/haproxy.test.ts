import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TestClient } from "../support/client.ts";
import { type Haproxy, startHaproxy, stopHaproxy } from "../support/haproxy.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { RawClient, selectedProtocols } from "../support/raw-client.ts";
import { type RedisServer, startRedis, waitFor } from "../support/redis.ts";

type Rsp = Record<string, Record<string, unknown>>;

describe("deploy/haproxy/haproxy.cfg in front of three nodes on one Redis", () => {
  let redis: RedisServer;
  let nodes: TestNode[] = [];
  /** One direct connection per node, to read its KV_SERVER_INFO query count. */
  let direct: TestClient[] = [];
  let haproxy: Haproxy | undefined;
  const opened: TestClient[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    nodes = [0, 1, 2].map(() => startNode([`--redis-url=${redis.url}`]));
    direct = await Promise.all(nodes.map((node) => TestClient.open(node.url)));
    haproxy = await startHaproxy(nodes.map((node) => new URL(node.url).host));
  });

  afterAll(async () => {
    for (const client of [...opened, ...direct]) client.close();
    await stopHaproxy(haproxy);
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  const lbUrl = () => `ws://127.0.0.1:${haproxy?.port}/`;

  async function openThroughLb(): Promise<TestClient> {
    const client = await TestClient.open(lbUrl());
    opened.push(client);
    return client;
  }

  async function queryCounts(): Promise<number[]> {
    const answers = await Promise.all(direct.map((c) => c.ask({ KV_SERVER_INFO: {} })));
    return answers.map(([rsp]) => (rsp as Rsp).KV_SERVER_INFO_RSP?.qryCnt as number);
  }

  /**
   * Which node a load-balanced connection reached: the one whose query count grew by
   * the connection's message besides the direct query itself.
   */
  async function backendOf(client: TestClient): Promise<number> {
    const before = await queryCounts();
    const [info] = await client.ask({ KV_SERVER_INFO: {} });
    expect((info as Rsp).KV_SERVER_INFO_RSP?.st).toBe(1);
    const after = await queryCounts();
    const grew = after.flatMap((n, i) => (n - (before[i] as number) === 2 ? [i] : []));
    expect(grew).toHaveLength(1);
    return grew[0] as number;
  }

  test("HAProxy's own health check (option httpchk GET /readyz) passes on every node", async () => {
    // option log-health-checks logs each server's first check result.
    await waitFor("a health check result for every server", () =>
      [1, 2, 3].every((n) => haproxy?.output().includes(`server kvfleet_nodes/node${n} `)),
    );
    const results = (haproxy?.output() ?? "").split("\n").filter((l) => l.includes("Health check"));
    expect(results.filter((l) => !l.includes("succeeded"))).toEqual([]);
  });

  test("HTTP health paths pass through", async () => {
    expect((await fetch(`http://127.0.0.1:${haproxy?.port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${haproxy?.port}/readyz`)).status).toBe(200);
  });

  test("WebSocket connections spread over the nodes; a key set through one is read through another", async () => {
    const byBackend = new Map<number, TestClient>();
    // leastconn sends each new held-open connection to the least loaded node.
    for (let i = 0; i < 9 && byBackend.size < 3; i++) {
      const client = await openThroughLb();
      byBackend.set(await backendOf(client), client);
    }
    expect(byBackend.size).toBe(3);
    const [a, b] = [...byBackend.values()] as [TestClient, TestClient];
    expect(await a.ask({ KV_SET: { lb: { via: "haproxy", n: 1 } } })).toEqual([
      { KV_SET_RSP: { st: 20, k: "lb" } },
    ]);
    expect(await b.ask({ KV_GET: ["lb"] })).toEqual([
      { KV_GET_RSP: { lb: { via: "haproxy", n: 1 }, st: 1 } },
    ]);
    expect(await b.ask({ KV_ADD: { lb: 2 } })).toEqual([{ KV_ADD_RSP: { st: 23, k: "lb" } }]);
  });

  test("the kvfleet.v2 subprotocol passes through: offered, selected, spoken; no offer stays v1", async () => {
    const v2 = await TestClient.open(lbUrl(), { protocols: ["kvfleet.v9", "kvfleet.v2"] });
    opened.push(v2);
    expect(v2.protocol).toBe("kvfleet.v2");
    const info = await v2.request("lb", "KV_SERVER_INFO", {});
    expect(info).toEqual({
      id: "lb",
      KV_SERVER_INFO_RSP: {
        st: 1,
        qryCnt: expect.any(Number),
        version: expect.any(String),
        protocols: [1, 2],
      },
    });
    expect(await v2.request(2, "KV_SET", { "lb-v2": 1 }, { ttl: 60_000 })).toEqual({
      id: 2,
      KV_SET_RSP: [{ k: "lb-v2", st: 20 }],
    });
    const port = haproxy?.port as number;
    const raw = await RawClient.open("127.0.0.1", port, "Sec-WebSocket-Protocol: kvfleet.v2\r\n", {
      keepTexts: true,
    });
    expect(selectedProtocols(raw.head)).toEqual(["kvfleet.v2"]);
    raw.sendText('{"id":3,"KV_TTL":["lb-v2"]}');
    expect(await raw.nextText()).toMatch(
      /^\{"id":3,"KV_TTL_RSP":\[\{"k":"lb-v2","st":1,"ttl":\d+\}\]\}$/,
    );
    raw.socket.destroy();
    const none = await RawClient.open("127.0.0.1", port, "Sec-WebSocket-Protocol: foo, bar\r\n", {
      keepTexts: true,
    });
    expect(selectedProtocols(none.head)).toEqual([]);
    none.sendText('{"id":4,"KV_COUNT":{}}');
    expect(await none.nextText()).toBe('{"KV_ERR":{"st":11,"m":""}}');
    none.socket.destroy();
    const v1 = await openThroughLb();
    expect(v1.protocol).toBe("");
  });

  test("a token in the query string never reaches HAProxy's log", async () => {
    const secret = "query-token-must-not-be-logged";
    const client = await TestClient.open(`ws://127.0.0.1:${haproxy?.port}/?token=${secret}`);
    expect(await client.ask({ KV_COUNT: {} })).toHaveLength(1);
    client.close();
    await client.closed();
    // The log line of a tunnelled connection is written when it ends.
    await waitFor("the connection's log line", () =>
      (haproxy?.output() ?? "").includes('"GET / HTTP/1.1"'),
    );
    expect(haproxy?.output()).not.toContain(secret);
  });

  test("with one node stopped, new connections reach the others", async () => {
    const probe = await openThroughLb();
    const gone = await backendOf(probe);
    await (nodes[gone] as TestNode).stop();
    direct.splice(gone, 1)[0]?.close();
    nodes = nodes.filter((_, i) => i !== gone);
    await probe.closed();
    // Until its health check fails the node is still listed; retries and redispatch cover it.
    for (let i = 0; i < 6; i++) {
      const client = await openThroughLb();
      expect(await client.ask({ KV_GET: ["lb"] })).toEqual([
        { KV_GET_RSP: { lb: { via: "haproxy", n: 1 }, st: 1 } },
      ]);
    }
  });
});
