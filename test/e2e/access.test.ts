import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestClient, upgradeStatus } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { RawClient, selectedProtocols } from "../support/raw-client.ts";
import { makeCertificates } from "../support/tls.ts";

const TOKEN = "correct-horse-battery-staple";

describe("shared token", () => {
  let server: TestNode;
  beforeAll(() => {
    server = startNode([], { env: { KVFLEET_TOKEN: TOKEN } });
  });
  afterAll(() => server.stop());

  test("an upgrade without the token gets 401 and no socket", async () => {
    expect(await upgradeStatus(`${server.httpUrl}/`)).toBe(401);
    expect(await upgradeStatus(`${server.httpUrl}/?token=wrong-token-of-some-length`)).toBe(401);
    expect(await upgradeStatus(`${server.httpUrl}/`, { authorization: `Basic ${TOKEN}` })).toBe(
      401,
    );
    expect(
      await upgradeStatus(`${server.httpUrl}/`, { authorization: `Bearer ${TOKEN.slice(1)}` }),
    ).toBe(401);
    // The scheme needs a space after it, and the token is compared whole.
    for (const authorization of [`Bearer${TOKEN}`, `Bearer ${TOKEN} x`, `Bearer\t${TOKEN}`]) {
      expect(await upgradeStatus(`${server.httpUrl}/`, { authorization })).toBe(401);
    }
    await expect(TestClient.open(server.url)).rejects.toThrow();
  });

  test("the Authorization header or the token query parameter lets a client in", async () => {
    const byHeader = await TestClient.open(server.url, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await byHeader.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: 0 } }]);
    byHeader.close();
    // RFC 7235: any case of the scheme, and one or more spaces before the token.
    for (const authorization of [`bearer ${TOKEN}`, `BEARER ${TOKEN}`, `Bearer   ${TOKEN}`]) {
      const client = await TestClient.open(server.url, { headers: { authorization } });
      expect(await client.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: 0 } }]);
      client.close();
    }
    const byQuery = await TestClient.open(`${server.url}?token=${TOKEN}`);
    expect(await byQuery.ask({ KV_COUNT: {} })).toEqual([{ KV_COUNT_RSP: { st: 1, cnt: 0 } }]);
    byQuery.close();
  });

  test("protocol v2 is negotiated with the token by header or by ?token=, and refused without it", async () => {
    const v2 = { "sec-websocket-protocol": "kvfleet.v2" };
    expect(await upgradeStatus(`${server.httpUrl}/`, v2)).toBe(401);
    expect(await upgradeStatus(`${server.httpUrl}/?token=wrong-token-of-some-length`, v2)).toBe(
      401,
    );
    await expect(TestClient.open(server.url, { protocols: "kvfleet.v2" })).rejects.toThrow();
    const byHeader = await TestClient.open(server.url, {
      headers: { authorization: `Bearer ${TOKEN}` },
      protocols: "kvfleet.v2",
    });
    const byQuery = await TestClient.open(`${server.url}?token=${TOKEN}`, {
      protocols: ["kvfleet.v9", "kvfleet.v2"],
    });
    for (const client of [byHeader, byQuery]) {
      expect(client.protocol).toBe("kvfleet.v2");
      expect(await client.request("c", "KV_COUNT", {})).toEqual({
        id: "c",
        KV_COUNT_RSP: { st: 1, cnt: 0 },
      });
      client.close();
    }
  });

  test("with the token, an offer without kvfleet.v2 selects no protocol and speaks v1", async () => {
    const port = Number(new URL(server.url).port);
    const byHeader = await RawClient.open(
      "127.0.0.1",
      port,
      `Authorization: Bearer ${TOKEN}\r\nSec-WebSocket-Protocol: kvfleet.v9\r\n`,
      { keepTexts: true },
    );
    const byQuery = await RawClient.open(
      "127.0.0.1",
      port,
      "Sec-WebSocket-Protocol: foo, bar\r\n",
      {
        path: `/?token=${TOKEN}`,
        keepTexts: true,
      },
    );
    for (const raw of [byHeader, byQuery]) {
      expect(selectedProtocols(raw.head)).toEqual([]);
      raw.sendText('{"id":1,"KV_COUNT":{}}');
      expect(await raw.nextText()).toBe('{"KV_ERR":{"st":11,"m":""}}');
      raw.socket.destroy();
    }
  });

  test("health, readiness and metrics stay open to probes", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      expect((await fetch(`${server.httpUrl}${path}`)).status).toBe(200);
    }
  });

  test("the token never appears in the log, even in the start line's config", () => {
    expect(server.output()).not.toContain(TOKEN);
    expect(server.started.config).toMatchObject({ security: { token: "(hidden)" } });
  });
});

describe("origin allow-list and connection limit", () => {
  let server: TestNode;
  beforeAll(() => {
    server = startNode(["--origins=https://app.example.com", "--max-connections=2"]);
  });
  afterAll(() => server.stop());

  test("a page from another origin gets 403; the allowed origin and no origin get in", async () => {
    expect(await upgradeStatus(`${server.httpUrl}/`, { origin: "https://evil.example" })).toBe(403);
    const allowed = await TestClient.open(server.url, {
      headers: { origin: "https://app.example.com" },
    });
    allowed.close();
    await allowed.closed();
  });

  test("beyond the connection limit an upgrade gets 503, and a freed slot is reused", async () => {
    const first = await TestClient.open(server.url);
    const second = await TestClient.open(server.url);
    expect(await upgradeStatus(`${server.httpUrl}/`)).toBe(503);
    first.close();
    await first.closed();
    // The server learns of the close a moment after the client: retry until the slot is free.
    let third: TestClient | undefined;
    for (let i = 0; third === undefined && i < 100; i++) {
      third = await TestClient.open(server.url).catch(() => undefined);
    }
    expect(third).toBeDefined();
    expect(await third?.ask({ KV_COUNT: {} })).toHaveLength(1);
    third?.close();
    second.close();
  });
});

describe("origin allow-list on protocol v2", () => {
  let server: TestNode;
  beforeAll(() => {
    server = startNode(["--origins=https://app.example.com"]);
  });
  afterAll(() => server.stop());

  test("protocol v2 passes the same origin check: 403 from another origin, selected from the allowed one", async () => {
    const v2 = { "sec-websocket-protocol": "kvfleet.v2" };
    expect(
      await upgradeStatus(`${server.httpUrl}/`, { ...v2, origin: "https://evil.example" }),
    ).toBe(403);
    const allowed = await TestClient.open(server.url, {
      headers: { origin: "https://app.example.com" },
      protocols: "kvfleet.v2",
    });
    expect(allowed.protocol).toBe("kvfleet.v2");
    expect(await allowed.request(1, "KV_GET", [])).toEqual({ id: 1, KV_GET_RSP: [] });
    allowed.close();
    await allowed.closed();
  });
});

describe("TLS from certificate files", () => {
  const dir = mkdtempSync(join(tmpdir(), "kvfleet-wss-"));
  const files = makeCertificates(dir);
  let server: TestNode;
  beforeAll(() => {
    server = startNode([`--tls-cert=${files.cert}`, `--tls-key=${files.key}`]);
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the server speaks wss:// with the given certificate", async () => {
    expect(server.url).toStartWith("wss://127.0.0.1:");
    const ca = readFileSync(files.ca, "utf8");
    const client = await TestClient.open(server.url, { tls: { ca } });
    expect(await client.ask({ KV_SET: { k: [1] } })).toEqual([{ KV_SET_RSP: { st: 20, k: "k" } }]);
    client.close();
    const health = await fetch(`${server.httpUrl}/healthz`, { tls: { ca } });
    expect(health.status).toBe(200);
  });
});
