import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { prefill, request } from "../../bench/client.ts";
import { LoadGate, type LoadOptions, runLoad } from "../../bench/load.ts";
import { interleaved, type Node } from "../../bench/paired.ts";
import { startNode, type TestNode } from "../support/node.ts";
import type { SpawnedServer } from "../support/server.ts";

/**
 * The load generator's gate, which `bun run bench -- --v2` uses to
 * interleave two loads on one node: a shut gate sends nothing, an opened
 * one fills the windows, and a load that ends shut still ends at once and
 * without errors.
 */

let node: TestNode;
const KEYS = 200;

beforeAll(async () => {
  node = startNode(["--max-payload=65536"]);
  await prefill([node.url], KEYS, 20);
});
afterAll(() => node.stop());

/** Messages the node has received so far (KV_SERVER_INFO counts itself). */
const queries = async () =>
  (
    JSON.parse(await request(node.url, '{"KV_SERVER_INFO":{}}')) as {
      KV_SERVER_INFO_RSP: { qryCnt: number };
    }
  ).KV_SERVER_INFO_RSP.qryCnt;

const load = (options: Partial<LoadOptions>) =>
  runLoad({
    urls: [node.url],
    connections: 4,
    window: 8,
    seconds: 0.3,
    warmup: 0.05,
    op: "get",
    protocol: 2,
    keys: KEYS,
    valueSize: 20,
    ...options,
  });

describe("bench load gate", () => {
  test("a load whose gate stays shut sends nothing and ends on time", async () => {
    const before = await queries();
    const started = performance.now();
    const result = await load({ gate: new LoadGate(false) });
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(result).toMatchObject({ ops: 0, errors: 0, unanswered: 0 });
    // Nothing between the two KV_SERVER_INFO requests but the second itself.
    expect((await queries()) - before).toBe(1);
  });

  test("opening the gate fills the windows; shutting it lets the load end without errors", async () => {
    const gate = new LoadGate(false);
    let measuring = 0;
    const result = await load({
      gate,
      onMeasure: () => {
        gate.set(true);
        measuring = performance.now();
      },
      onMeasured: () => gate.set(false),
    });
    expect(measuring).toBeGreaterThan(0);
    expect(result.ops).toBeGreaterThan(32);
    expect(result).toMatchObject({ errors: 0, unanswered: 0 });
  });

  test("two interleaved loads both run, each measured over its open time", async () => {
    const target: Node = {
      store: "memory",
      node: { url: node.url, pid: process.pid } as SpawnedServer,
      redisPids: [],
    };
    const gatedLoad =
      (protocol: 1 | 2) => (gate: LoadGate, onMeasure: () => void, onMeasured: () => void) =>
        load({ protocol, gate, onMeasure, onMeasured, seconds: 0.6 });
    const [v1, v2] = await interleaved(target, 0.05, [gatedLoad(1), gatedLoad(2)]);
    for (const sample of [v1, v2]) {
      expect(sample.errors).toBe(0);
      expect(sample.opsPerSecond).toBeGreaterThan(0);
      expect(sample.cpu.generatorUsPerOp).toBeGreaterThan(0);
    }
    expect(v1.first).toBe(true);
    expect(v2.first).toBe(false);
  });
});
