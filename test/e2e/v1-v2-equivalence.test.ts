import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { TestClient } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";

/**
 * Property: any sequence of operations version 1 can express, sent on a v1
 * connection to one fresh keyspace and on a v2 connection to another of the
 * same node, gets the same statuses key by key (and the same values): v1's
 * frames, one per key, against v2's elements, one frame per request.
 * Seeded, so a failure replays; fast-check prints the seed and the shrunk case.
 */

const SEED = 20_261_211;
const RUNS = 120;

const PAIRS = ["KV_SET", "KV_SETQ", "KV_ADD", "KV_ADDQ", "KV_APPEND"] as const;
const KEYS = ["KV_GET", "KV_RMV", "KV_CONTAINS"] as const;
const QUIET = new Set<string>(["KV_SETQ", "KV_ADDQ"]);

/** Key names within a keyspace: few, so operations meet the same keys again. */
const name = fc.constantFrom("a", "b", "st", "k", "", "10", "é");
/** Values that append to each other (1) and values that do not (41). */
const value = fc.oneof(
  fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom("x", "y", "10"), fc.integer(), { maxKeys: 2 }),
  fc.string({ maxLength: 3 }),
  fc.jsonValue({ maxDepth: 2 }),
);

type Op =
  | { command: (typeof PAIRS)[number]; pairs: [string, unknown][] }
  | { command: (typeof KEYS)[number]; keys: (string | number | null)[] }
  | { command: string; wrongBody: unknown };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      command: fc.constantFrom(...PAIRS),
      pairs: fc.uniqueArray(fc.tuple(name, value), {
        maxLength: 4,
        selector: ([key]) => key,
      }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      command: fc.constantFrom(...KEYS),
      keys: fc.array(
        fc.oneof({ weight: 6, arbitrary: name }, fc.constantFrom<number | null>(1, null)),
        { maxLength: 4 },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.record({
        command: fc.constantFrom(...PAIRS),
        wrongBody: fc.constantFrom<unknown>([], ["a"], "a", 1, null),
      }),
      fc.record({
        command: fc.constantFrom(...KEYS),
        wrongBody: fc.constantFrom<unknown>({}, { a: 1 }, "a", 1, null),
      }),
    ),
  },
);

/** What one request did, in terms both versions share: 12 for the whole request, or each key's result. */
type Outcome = "12" | { k?: string; st: number; v?: unknown }[];

let node: TestNode;
let v1: TestClient;
let v2: TestClient;
const MARKER = `equivalence-marker-${crypto.randomUUID()}`;
const MARKER_REPLY = `{"KV_CONTAINS_RSP":{"st":22,"k":"${MARKER}"}}`;

beforeAll(async () => {
  node = startNode(["--max-payload=65536"]);
  [v1, v2] = await Promise.all([
    TestClient.open(node.url),
    TestClient.open(node.url, { protocols: "kvfleet.v2" }),
  ]);
  expect(v2.protocol).toBe("kvfleet.v2");
});
afterAll(async () => {
  v1?.close();
  v2?.close();
  await node?.stop();
});

/** The request body with every key name put in `space`. */
function body(o: Op, space: string): unknown {
  if ("wrongBody" in o) return o.wrongBody;
  if ("pairs" in o) return Object.fromEntries(o.pairs.map(([k, v]) => [space + k, v]));
  return o.keys.map((k) => (typeof k === "string" ? space + k : k));
}

/** A key of an answer, back to its name in the keyspace. */
function unspace(key: string, space: string): string {
  expect(key.startsWith(space)).toBe(true);
  return key.slice(space.length);
}

/** Runs `o` on the v1 connection: every frame before the marker's, as an outcome. */
async function runV1(o: Op, space: string): Promise<Outcome> {
  v1.command({ [o.command]: body(o, space) });
  v1.command({ KV_CONTAINS: [MARKER] });
  const out: { k?: string; st: number; v?: unknown }[] = [];
  for (;;) {
    const text = await v1.nextText();
    if (text === MARKER_REPLY) return out;
    const reply = JSON.parse(text) as Record<string, Record<string, unknown>>;
    const rsp = reply[`${o.command}_RSP`];
    expect(rsp).toBeDefined();
    const { st, k, ...rest } = rsp as { st: number; k?: string };
    if (st === 12) {
      expect(out).toEqual([]);
      expect(await v1.nextText()).toBe(MARKER_REPLY);
      return "12";
    }
    if (st === 26) out.push({ st });
    else if (k !== undefined) out.push({ k: unspace(k, space), st });
    else {
      // A found key: the key itself beside st (no clash, every key has the space's prefix).
      const [[key, v]] = Object.entries(rest) as [[string, unknown]];
      out.push({ k: unspace(key, space), st, v });
    }
  }
}

let ids = 0;
/** Runs `o` on the v2 connection with an id: its one answer, as an outcome. */
async function runV2(o: Op, space: string): Promise<Outcome> {
  const answer = await v2.request(++ids, o.command, body(o, space));
  const err = answer.KV_ERR as { st: number } | undefined;
  if (err !== undefined) {
    expect(err.st).toBe(12);
    return "12";
  }
  const elements = answer[`${o.command}_RSP`] as { k?: string; st: number; v?: unknown }[];
  expect(Array.isArray(elements)).toBe(true);
  return elements.map(({ k, st, v }) => ({
    ...(k === undefined ? {} : { k: unspace(k, space) }),
    st,
    ...(st === 1 && o.command === "KV_GET" ? { v } : {}),
  }));
}

describe("v1 and v2 agree on every v1 operation", () => {
  test(`${RUNS} random sequences, seed ${SEED}`, async () => {
    let run = 0;
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const id = `${++run}-${crypto.randomUUID().slice(0, 8)}`;
        const [space1, space2] = [`eq1:${id}:`, `eq2:${id}:`];
        for (const o of ops) {
          const [one, two] = await Promise.all([runV1(o, space1), runV2(o, space2)]);
          expect(two).toEqual(one);
          if (one === "12") seen.add(12);
          else for (const element of one) seen.add(element.st);
          if (QUIET.has(o.command) && two !== "12") {
            for (const element of two) expect([20, 21]).not.toContain(element.st);
          }
        }
        // The keyspaces hold the same values in the end.
        const names = ["a", "b", "st", "k", "", "10", "é"];
        const get: Op = { command: "KV_GET", keys: names };
        expect(await runV2(get, space2)).toEqual(await runV1(get, space1));
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(v1.unread + v2.unread).toBe(0);
    // The sequences met every status v1 can answer without a store failure.
    expect([...seen].sort((x, y) => x - y)).toEqual([1, 12, 20, 21, 22, 23, 24, 26, 41]);
  });
});
