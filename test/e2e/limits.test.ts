import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { queryCount, TestClient } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { RawClient, rawRequest } from "../support/raw-client.ts";
import { waitFor } from "../support/redis.ts";

/** A KV_SET message of exactly `bytes` UTF-8 bytes, padded with two-byte characters. */
function setMessageOfSize(bytes: number): string {
  const empty = '{"KV_SET":{"k":""}}';
  const room = bytes - Buffer.byteLength(empty);
  const text = "é".repeat(Math.floor(room / 2)) + "x".repeat(room % 2);
  const message = `{"KV_SET":{"k":"${text}"}}`;
  expect(Buffer.byteLength(message)).toBe(bytes);
  return message;
}

describe("default limits (maxPayload 1024)", () => {
  let server: TestNode;
  beforeAll(() => {
    server = startNode();
  });
  afterAll(() => server.stop());

  test("a message of exactly maxPayload bytes is executed", async () => {
    const client = await TestClient.open(server.url);
    client.send(setMessageOfSize(1024));
    expect(await client.next()).toEqual({ KV_SET_RSP: { st: 20, k: "k" } });
    client.close();
  });

  test("one byte over closes only that connection, with 1009, and is not executed", async () => {
    const bystander = await TestClient.open(server.url);
    const client = await TestClient.open(server.url);
    const key = crypto.randomUUID();
    client.send(setMessageOfSize(1025).replace('"k"', `"${key.slice(0, 1)}"`));
    expect((await client.closed()).code).toBe(1009);
    expect(await bystander.ask({ KV_CONTAINS: [key.slice(0, 1)] })).toEqual([
      { KV_CONTAINS_RSP: { st: 22, k: key.slice(0, 1) } },
    ]);
    bystander.close();
  });

  test("a binary frame of every byte value gets status 2 and the connection stays open", async () => {
    const client = await TestClient.open(server.url);
    client.send(Uint8Array.from({ length: 256 }, (_, i) => i));
    const err = (await client.next()) as { KV_ERR: { st: number; m: string } };
    expect(err.KV_ERR.st).toBe(2);
    expect(await client.ask({ KV_COUNT: {} })).toEqual([
      { KV_COUNT_RSP: { st: 1, cnt: expect.any(Number) } },
    ]);
    client.close();
  });

  test("numbers beyond doubles and escaped lone surrogates are stored as written", async () => {
    const client = await TestClient.open(server.url);
    const key = `\\ud800${crypto.randomUUID()}`;
    client.send(`{"KV_SET":{"${key}":[1e400,-1e-400,"\\udc00"]}}`);
    expect(await client.nextText()).toBe(`{"KV_SET_RSP":{"st":20,"k":"${key}"}}`);
    client.send(`{"KV_GET":["${key}"]}`);
    expect(await client.nextText()).toBe(
      `{"KV_GET_RSP":{"${key}":[1e400,-1e-400,"\\udc00"],"st":1}}`,
    );
    client.close();
  });

  test("a flood of 20,000 messages is answered in order while another client is served", async () => {
    const flooder = await TestClient.open(server.url);
    const other = await TestClient.open(server.url);
    const prefix = crypto.randomUUID();
    for (let i = 0; i < 20_000; i++) flooder.send(`{"KV_SET":{"${prefix}${i}":${i}}}`);
    expect(await other.ask({ KV_CONTAINS: [`${prefix}-none`] })).toEqual([
      { KV_CONTAINS_RSP: { st: 22, k: `${prefix}-none` } },
    ]);
    for (let i = 0; i < 20_000; i++) {
      expect(await flooder.nextText()).toBe(`{"KV_SET_RSP":{"st":20,"k":"${prefix}${i}"}}`);
    }
    flooder.close();
    other.close();
  });

  test("per-message deflate is not negotiated even when offered", async () => {
    const raw = await RawClient.open(
      "127.0.0.1",
      server.port,
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
    );
    expect(raw.head).toStartWith("HTTP/1.1 101");
    expect(raw.head.toLowerCase()).not.toContain("permessage-deflate");
    raw.socket.destroy();
  });

  test("HTTP paths: /healthz 200, /readyz 200, / without upgrade 426, others 404", async () => {
    const status = async (path: string) => (await fetch(`${server.httpUrl}${path}`)).status;
    expect(await status("/healthz")).toBe(200);
    expect(await status("/readyz")).toBe(200);
    expect(await status("/")).toBe(426);
    expect(await status("/metrics-nope")).toBe(404);
    await expect(TestClient.open(server.url.replace(/\/$/, "/other"))).rejects.toThrow();
  });

  test("an HTTP/1.0 request without Host, as load balancers' checks send, is answered", async () => {
    const response = await rawRequest("127.0.0.1", server.port, "GET /readyz HTTP/1.0\r\n\r\n");
    expect(response).toStartWith("HTTP/1.1 200");
  });
});

describe("a malformed Host header", () => {
  let server: TestNode;
  beforeAll(() => {
    server = startNode(["--log-level=debug"]);
  });
  afterAll(() => server.stop());

  const badRequests = () =>
    server
      .output()
      .split("\n")
      .filter((line) => line.includes('"event":"bad request"'));

  test("gets 400 naming the problem, a debug line at most, and the node serves on", async () => {
    // "a\tb": the parser refuses other control characters itself, but lets a tab through.
    const hosts = ["[", "a b", "[::1", "a:b:c", "%zz", "foo:99999", "a\tb", "é"];
    const requests = [
      ...hosts.map((host) => `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
      "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
      // The upgrade path too: the access gate reads the URL's query.
      `GET /?token=x HTTP/1.1\r\nHost: [\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ];
    for (const request of requests) {
      const response = await rawRequest("127.0.0.1", server.port, request);
      expect(response).toStartWith("HTTP/1.1 400");
      expect(response).toEndWith("\r\n\r\ninvalid Host header\n");
    }
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
    const client = await TestClient.open(server.url);
    expect(await client.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: 0 } }]);
    client.close();
    await waitFor("a line per bad request", () => badRequests().length === requests.length);
    expect(badRequests().every((line) => line.includes('"level":"debug"'))).toBe(true);
    expect(server.output()).not.toContain('"level":"error"');
  });

  test("valid forms still pass: a name with a port, IPv4, an IPv6 literal, an empty Host", async () => {
    for (const host of ["kvfleet.example:1987", "127.0.0.1", "[::1]:1987", ""]) {
      const request = `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
      expect(await rawRequest("127.0.0.1", server.port, request)).toStartWith("HTTP/1.1 200");
    }
  });
});

describe("deep nesting (maxPayload 2 MiB)", () => {
  let server: TestNode;
  beforeAll(() => {
    server = startNode(["--max-payload=2097152"]);
  });
  afterAll(() => server.stop());

  test("500,000 nested arrays are stored and read back; unclosed ones are status 3", async () => {
    const client = await TestClient.open(server.url);
    const deep = "[".repeat(500_000) + "]".repeat(500_000);
    client.send(`{"KV_SET":{"deep":${deep}}}`);
    expect(await client.next()).toEqual({ KV_SET_RSP: { st: 20, k: "deep" } });
    client.send('{"KV_GET":["deep"]}');
    expect(await client.nextText()).toBe(`{"KV_GET_RSP":{"deep":${deep},"st":1}}`);
    client.send(`{"KV_SET":{"open":${"[".repeat(500_000)}}}`);
    expect(((await client.next()) as { KV_ERR: { st: number } }).KV_ERR.st).toBe(3);
    client.send(`{"KV_SET":{"bad":${"{".repeat(500_000)}}}`);
    expect(((await client.next()) as { KV_ERR: { st: number } }).KV_ERR.st).toBe(3);
    client.close();
  });
});

describe("a client that stops reading", () => {
  let server: TestNode;
  beforeAll(() => {
    server = startNode(["--max-backlog=65536"]);
  });
  afterAll(() => server.stop());

  test("is closed with 1008 once its backlog passes the limit; others are unaffected", async () => {
    const helper = await TestClient.open(server.url);
    const value = "v".repeat(900);
    await helper.ask({ KV_SET: { big: value } });
    const before = await queryCount(helper);
    const raw = await RawClient.open("127.0.0.1", server.port);
    raw.socket.pause();
    const requests = 20_000;
    for (let i = 0; i < requests; i++) raw.sendText('{"KV_GET":["big"]}');
    // The server has handled every request once its query counter has moved past them all.
    while ((await queryCount(helper)) < before + requests) {}
    raw.socket.resume();
    expect(await raw.ended()).toBe(1008);
    expect(raw.texts).toBeLessThan(requests);
    expect(await helper.ask({ KV_GET: ["big"] })).toEqual([{ KV_GET_RSP: { big: value, st: 1 } }]);
    helper.close();
  });
});

describe("idle timeout", () => {
  let server: TestNode;
  beforeAll(() => {
    server = startNode(["--idle-timeout=8"]);
  });
  afterAll(() => server.stop());

  test("the server pings an idle client and closes it when no pong comes", async () => {
    const opened = performance.now();
    const raw = await RawClient.open("127.0.0.1", server.port);
    await raw.pinged();
    await raw.ended();
    // Closed for being idle: the timeout is 8 s, checked on a 4-second tick.
    expect(performance.now() - opened).toBeGreaterThan(4_000);
  }, 30_000);
});
