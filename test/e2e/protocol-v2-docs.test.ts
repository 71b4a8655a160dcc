import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TestClient } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";

const ROOT = join(import.meta.dir, "../..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const DOC = readFileSync(join(ROOT, "docs/protocol-v2.md"), "utf8");

/**
 * The exchanges README.md and docs/protocol-v2.md show, sent to a node: each
 * request and answer must be in the document as written, and the node must
 * answer exactly that (a ttl's ms left excepted).
 */
describe("the protocol v2 examples of the docs are what a node answers", () => {
  let node: TestNode;
  let client: TestClient;
  beforeAll(async () => {
    node = startNode();
    client = await TestClient.open(node.url, { protocols: "kvfleet.v2" });
  });
  afterAll(async () => {
    client?.close();
    await node?.stop();
  });

  async function expectExchange(doc: string, request: string, answer: string | RegExp) {
    expect(doc).toContain(request);
    if (typeof answer === "string") expect(doc).toContain(answer);
    client.send(request);
    const text = await client.nextText();
    if (typeof answer === "string") expect(text).toBe(answer);
    else expect(text).toMatch(answer);
  }

  test("README's Protocol v2 exchange", async () => {
    await expectExchange(
      README,
      '{"id":1,"KV_SET":{"session:ada":{"user":1}},"ttl":60000}',
      '{"id":1,"KV_SET_RSP":[{"k":"session:ada","st":20}]}',
    );
    await expectExchange(
      README,
      '{"id":2,"KV_GET":["session:ada","nobody"]}',
      '{"id":2,"KV_GET_RSP":[{"k":"session:ada","st":1,"v":{"user":1}},{"k":"nobody","st":22}]}',
    );
    expect(README).toContain('{"id":3,"KV_TTL_RSP":[{"k":"session:ada","st":1,"ttl":59998}]}');
    await expectExchange(
      README,
      '{"id":3,"KV_TTL":["session:ada"]}',
      /^\{"id":3,"KV_TTL_RSP":\[\{"k":"session:ada","st":1,"ttl":(59\d{3}|60000)\}\]\}$/,
    );
  });

  test("docs/protocol-v2.md's per-key and quiet examples", async () => {
    // Not shown: b exists before the first example.
    client.send('{"KV_SET":{"b":0}}');
    expect(await client.nextText()).toBe('{"KV_SET_RSP":[{"k":"b","st":20}]}');
    await expectExchange(
      DOC,
      '{"id":7,"KV_SET":{"a":1,"b":2}}',
      '{"id":7,"KV_SET_RSP":[{"k":"a","st":20},{"k":"b","st":21}]}',
    );
    await expectExchange(
      DOC,
      '{"KV_GET":["a","nope",5]}',
      '{"KV_GET_RSP":[{"k":"a","st":1,"v":1},{"k":"nope","st":22},{"st":26}]}',
    );
    await expectExchange(DOC, '{"id":1,"KV_GET":[]}', '{"id":1,"KV_GET_RSP":[]}');
    await expectExchange(
      DOC,
      '{"KV_RMV":["a","a"]}',
      /^\{"KV_RMV_RSP":\[\{"k":"a","st":24\},\{"k":"a","st":22\}\]\}$/,
    );
    // The quiet examples' requests are not shown; their answers are.
    client.send('{"KV_SET":{"a":1}}');
    await client.nextText();
    for (const [request, answer] of [
      ['{"id":4,"KV_ADDQ":{"a":9}}', '{"id":4,"KV_ADDQ_RSP":[{"k":"a","st":23}]}'],
      ['{"id":4,"KV_SETQ":{"c":1}}', '{"id":4,"KV_SETQ_RSP":[]}'],
      ['{"KV_ADDQ":{"a":9,"d":1}}', '{"KV_ADDQ_RSP":[{"k":"a","st":23}]}'],
    ] as const) {
      expect(DOC).toContain(answer);
      client.send(request);
      expect(await client.nextText()).toBe(answer);
    }
  });

  test("docs/protocol-v2.md's which-error-wins examples", async () => {
    const err = async (request: string) => {
      expect(DOC).toContain(`\`${request}\``);
      client.send(request);
      return JSON.parse(await client.nextText());
    };
    expect(await err('{"id":-1,"KV_NOPE":1}')).toEqual({
      KV_ERR: { st: 3, m: expect.stringContaining("id") },
    });
    expect(await err('{"id":1,"KV_SET":[],"ttl":0}')).toEqual({
      id: 1,
      KV_ERR: { st: 12, m: expect.stringContaining("KV_SET") },
    });
    expect(await err('{"id":1,"KV_SET":{"a":1},"ttl":0}')).toEqual({
      id: 1,
      KV_ERR: { st: 12, m: expect.stringContaining("ttl") },
    });
    await expectExchange(DOC, '{"id":1}', '{"id":1,"KV_ERR":{"st":10,"m":""}}');
    await expectExchange(
      DOC,
      '{"id":"i","KV_SERVER_INFO":{}}',
      /^\{"id":"i","KV_SERVER_INFO_RSP":\{"st":1,"qryCnt":\d+,"version":"[^"]+","protocols":\[1,2\]\}\}$/,
    );
  });
});
