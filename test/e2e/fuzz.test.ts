import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { CommandName } from "../../src/protocol/commands.ts";
import { VERSION } from "../../src/version.ts";
import { TestClient } from "../support/client.ts";
import { startNode, type TestNode } from "../support/node.ts";

/** Statuses each command's response may carry from the memory store (12: wrong body type). */
const ALLOWED = {
  KV_SET: [20, 21, 12],
  KV_SETQ: [12],
  KV_ADD: [20, 23, 12],
  KV_ADDQ: [23, 12],
  KV_APPEND: [1, 22, 41, 12],
  KV_GET: [1, 22, 26, 12],
  KV_RMV: [24, 22, 26, 12],
  KV_CONTAINS: [23, 22, 26, 12],
  KV_COUNT: [1, 12],
  KV_CLEAR: [1, 12],
  KV_SERVER_INFO: [1, 12],
} satisfies Partial<Record<CommandName, readonly number[]>>;
const COMMANDS = Object.keys(ALLOWED) as (keyof typeof ALLOWED)[];
const PAIRS = new Set<string>(["KV_SET", "KV_SETQ", "KV_ADD", "KV_ADDQ", "KV_APPEND"]);
const QUIET = new Set<string>(["KV_SETQ", "KV_ADDQ"]);
const KEYS = new Set<string>(["KV_GET", "KV_RMV", "KV_CONTAINS"]);

type Json = ReturnType<typeof JSON.parse>;
const isObject = (v: unknown): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Any code point, lone surrogates included. */
const anyChar = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
);
const anyString = (maxLength: number) => fc.string({ unit: anyChar, maxLength });
/** A small key space, so that keys meet again and exercise 21, 23, 24, 1 and 41. */
const smallKey = fc.oneof(fc.constantFrom("a", "b", "st", "k", "", "10", "2"), anyString(4));
const value = fc.jsonValue({ maxDepth: 3 });

let server: TestNode;
let client: TestClient;
const MARKER_KEY = `fuzz-marker-${crypto.randomUUID()}`;
const MARKER_REPLY = `{"KV_CONTAINS_RSP":{"st":22,"k":"${MARKER_KEY}"}}`;

beforeAll(async () => {
  server = startNode(["--max-payload=2097152"]);
  client = await TestClient.open(server.url);
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

/** Sends one message, then a marker, and answers every reply that came before the marker's. */
async function exchange(message: string | Uint8Array): Promise<Json[]> {
  client.send(message);
  client.command({ KV_CONTAINS: [MARKER_KEY] });
  const replies: Json[] = [];
  for (;;) {
    const text = await client.nextText();
    if (text === MARKER_REPLY) return replies;
    replies.push(JSON.parse(text));
  }
}

async function expectServerUp(): Promise<void> {
  const [reply] = await client.ask({ KV_COUNT: {} });
  expect(reply).toMatchObject({ KV_COUNT_RSP: { st: 1, cnt: expect.any(Number) } });
}

/** The single member of a reply: [name, body]. */
function only(reply: Json): [string, Record<string, Json>] {
  expect(isObject(reply)).toBe(true);
  const entries = Object.entries(reply as object);
  expect(entries).toHaveLength(1);
  const [name, body] = entries[0] as [string, Json];
  expect(isObject(body)).toBe(true);
  return [name, body];
}

/**
 * What the spec makes of the text message `sent`: the one reply it gets when
 * it can't be executed, or the command and body it runs.
 */
function classify(sent: string): [string, Json] | { command: CommandName; body: Json } {
  // The client sends lone surrogates as U+FFFD; the server sees that text.
  let message: Json;
  try {
    message = JSON.parse(sent.toWellFormed());
  } catch {
    return ["KV_ERR", { st: 3, m: expect.any(String) }];
  }
  if (!isObject(message)) return ["KV_ERR", { st: 3, m: expect.any(String) }];
  const members = Object.keys(message);
  if (members.length === 0) return ["KV_ERR", { st: 10, m: "" }];
  if (members.length > 1) return ["KV_ERR", { st: 11, m: "" }];
  const name = members[0] as string;
  if (!Object.hasOwn(ALLOWED, name)) return ["KV_ERR", { st: 10, m: name }];
  const command = name as CommandName;
  const body = message[name];
  const typeOk = KEYS.has(command) ? Array.isArray(body) : isObject(body);
  return typeOk ? { command, body } : [`${command}_RSP`, { st: 12, k: "" }];
}

/** Asserts that `replies` are what the spec allows for the text message `sent`. */
function expectAllowed(sent: string, replies: Json[]): void {
  const expected = classify(sent);
  if (Array.isArray(expected)) {
    expect(replies).toHaveLength(1);
    expect(only(replies[0])).toEqual(expected);
    return;
  }
  const { command, body } = expected;
  const bodies = replies.map((reply) => {
    const [name, rsp] = only(reply);
    expect(name).toBe(`${command}_RSP`);
    expect(ALLOWED[command as keyof typeof ALLOWED]).toContain(rsp.st);
    expect(rsp.st).not.toBe(12);
    return rsp;
  });
  if (PAIRS.has(command)) expectPairReplies(command, Object.keys(body as object), bodies);
  else if (KEYS.has(command)) expectKeyReplies(command, body as Json[], bodies);
  else {
    expect(bodies).toHaveLength(1);
    const extra =
      command === "KV_SERVER_INFO"
        ? { qryCnt: expect.any(Number), version: VERSION }
        : { cnt: expect.any(Number) };
    expect(bodies[0]).toEqual({ st: 1, ...extra });
  }
}

/** One reply per distinct key (quiet commands: at most), each naming one of the keys. */
function expectPairReplies(command: CommandName, keys: string[], bodies: Json[]): void {
  if (QUIET.has(command)) expect(bodies.length).toBeLessThanOrEqual(keys.length);
  else expect(bodies).toHaveLength(keys.length);
  for (const rsp of bodies) {
    expect(rsp).toEqual({ st: rsp.st, k: expect.any(String) });
    expect(keys).toContain(rsp.k);
  }
}

/** One reply per element, in order: 26 for a non-string, else the key itself. */
function expectKeyReplies(command: CommandName, elements: Json[], bodies: Json[]): void {
  expect(bodies).toHaveLength(elements.length);
  for (const [i, key] of elements.entries()) {
    const rsp = bodies[i] as Record<string, Json>;
    if (typeof key !== "string") {
      expect(rsp).toEqual({ st: 26, k: "" });
    } else if (rsp.st !== 1) {
      expect(rsp).toEqual({ st: rsp.st, k: key });
    } else {
      expect(command).toBe("KV_GET");
      // A found key sits beside st; a key named "st" collides with it.
      expect(Object.keys(rsp)).toEqual(key === "st" ? ["st"] : [key, "st"]);
    }
  }
}

/** A JSON document as text, compact or indented. */
const asText = (doc: Json) =>
  fc.boolean().map((indent) => JSON.stringify(doc, null, indent ? 2 : undefined));

const commandName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...COMMANDS) },
  fc.constantFrom(...COMMANDS.map((c) => `${c}_RSP`), "KV_ERR", "kv_set", "toString", "__proto__"),
  anyString(12),
);
const body = fc.oneof(
  fc.dictionary(smallKey, value, { maxKeys: 5 }),
  fc.array(fc.oneof({ weight: 3, arbitrary: smallKey }, value), { maxLength: 5 }),
  value,
);
const oneMember = fc.tuple(commandName, body).chain(([name, b]) => asText({ [name]: b }));
const manyMembers = fc.dictionary(commandName, body, { maxKeys: 3 }).chain(asText);

describe("fuzz: the server answers only what the spec allows", () => {
  test("random JSON documents", async () => {
    await fc.assert(
      fc.asyncProperty(fc.json({ maxDepth: 3 }), async (text) => {
        expectAllowed(text, await exchange(text));
      }),
      { numRuns: 300 },
    );
    await expectServerUp();
  });

  test("objects with one member named by a command or a random string", async () => {
    await fc.assert(
      fc.asyncProperty(oneMember, async (text) => {
        expectAllowed(text, await exchange(text));
      }),
      { numRuns: 500 },
    );
    await expectServerUp();
  });

  test("objects with any number of members", async () => {
    await fc.assert(
      fc.asyncProperty(manyMembers, async (text) => {
        expectAllowed(text, await exchange(text));
      }),
      { numRuns: 300 },
    );
    await expectServerUp();
  });

  test("random strings as text frames", async () => {
    const jsonish = fc.constantFrom(...'{}[]":,\\ u01e-.KV_SETGCOUNtrlfas\n');
    const text = fc.oneof(
      anyString(40),
      fc.string({ unit: jsonish, maxLength: 40 }),
      fc.string({ unit: "grapheme", maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(text, async (t) => {
        const replies = await exchange(t);
        expectAllowed(t, replies);
      }),
      { numRuns: 500 },
    );
    await expectServerUp();
  });

  test("random bytes as binary frames are KV_ERR 2 and the connection stays open", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const replies = await exchange(bytes);
        expect(replies).toHaveLength(1);
        expect(only(replies[0])).toEqual(["KV_ERR", { st: 2, m: expect.any(String) }]);
      }),
      { numRuns: 300 },
    );
    await expectServerUp();
  });
});

describe("fuzz: round trip", () => {
  test("KV_SET then KV_GET reads back the value sent, for any key", async () => {
    const key = fc.oneof(anyString(20), smallKey);
    await fc.assert(
      fc.asyncProperty(key, value, async (k, v) => {
        const keyToken = JSON.stringify(k);
        const valueText = JSON.stringify(v);
        client.send(`{"KV_SET":{${keyToken}:${valueText}}}`);
        const set = only(await client.next());
        expect(set[0]).toBe("KV_SET_RSP");
        expect([20, 21]).toContain(set[1].st);
        expect(set[1].k).toBe(k);
        client.send(`{"KV_GET":[${keyToken}]}`);
        const text = await client.nextText();
        expect(text).toBe(`{"KV_GET_RSP":{${keyToken}:${valueText},"st":1}}`);
        if (k !== "st") {
          const got = (JSON.parse(text) as { KV_GET_RSP: Record<string, Json> }).KV_GET_RSP;
          // -0 is written as 0 by JSON.stringify, so compare with the value as sent.
          expect(got[k]).toEqual(JSON.parse(valueText));
        }
      }),
      { numRuns: 400 },
    );
    await expectServerUp();
  });
});
