import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import calculateSlot from "cluster-key-slot";
import { expiredChannel, singleChannel, slotChannel } from "../../src/store/redis-channels.ts";
import { APPEND_COMBINED, APPEND_MISMATCHED } from "../support/append-cases.ts";
import { TestClient } from "../support/client.ts";
import { scrape } from "../support/metrics.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { redisCli, waitFor } from "../support/redis.ts";
import { type Frame, V2Client } from "../support/v2-client.ts";

/** What the suite needs to know about the store under test. */
export interface WatchStore {
  /** The flags that point a node at the store. */
  readonly args: () => string[];
  /**
   * The store's Redis servers (every master of a Cluster), when nodes share
   * it: the suite then starts three nodes on it and checks cross-node
   * events, their order and what stays subscribed in Redis.
   */
  readonly redisPorts?: () => number[];
  /** A Cluster: keys of many slots under one prefix. */
  readonly cluster?: boolean;
}

/** Watches one connection may hold in this suite (--max-watches). */
const MAX_WATCHES = 8;

const q = JSON.stringify;

/** The exact text of an event frame; `v` is raw JSON text. */
function ev(w: number, op: string, k?: string, v?: string): string {
  const key = k === undefined ? "" : `,"k":${q(k)}`;
  const value = v === undefined ? "" : `,"v":${v}`;
  return `{"KV_EVENT":{"w":${w}${key},"op":"${op}"${value}}}`;
}

/** The statuses of a per-key answer's elements, in order. */
function statuses(answer: Frame): number[] {
  const name = Object.keys(answer.json).find((member) => member !== "id") as string;
  const rsp = answer.json[name];
  if (!Array.isArray(rsp)) throw new Error(`not a per-key answer: ${answer.text}`);
  return rsp.map((element: { st: number }) => element.st);
}

/** The raw `v` of a one-key KV_GET answer that found its key. */
function storedText(answer: Frame): string {
  const at = answer.text.indexOf('"st":1,"v":');
  if (at < 0 || !answer.text.endsWith("}]}")) throw new Error(`no value in ${answer.text}`);
  return answer.text.slice(at + '"st":1,"v":'.length, -3);
}

/** A request text: `{"<command>":{"k1":v1,...}}` with each value as raw JSON text. */
function objectBody(command: string, entries: [string, string][], ttl?: number): string {
  const members = entries.map(([k, v]) => `${q(k)}:${v}`).join(",");
  return `{${ttl === undefined ? "" : `"ttl":${ttl},`}"${command}":{${members}}}`;
}

/**
 * Live change events (KV_WATCH) over real WebSockets to nodes in this
 * process: every row of the event table, what a watch matches, KV_UNWATCH,
 * the errors, version 1, the metrics; on a shared store (Redis, Cluster)
 * also changes made through other nodes, their order on every watcher,
 * slots of every master, and that nothing stays subscribed in Redis once
 * nobody watches. Events are awaited by predicate with a deadline; a test
 * proves an event absent by a later write of the same key (a fence), whose
 * event must come after it, since a key's events arrive in the order the
 * store applied them.
 */
export function watchSuite(name: string, store: WatchStore): void {
  const shared = store.redisPorts !== undefined;

  describe(`change events on ${name}`, () => {
    let nodes: TestNode[] = [];
    let node: TestNode;
    /** Every client a test opened, checked and closed after it. */
    let opened: V2Client[] = [];
    /**
     * On a shared store, one watch held open on nodes 0 and 1 for the whole
     * suite (of a key nobody writes), so that the store's feed stays live
     * there instead of subscribing again in every test (a Cluster's 16384
     * slot channels take a few hundred ms); node 2 has none, so its first
     * watch of a test starts the feed. The last test closes them.
     */
    let keepers: V2Client[] = [];
    let serial = 0;
    /** A prefix no other test uses. */
    const fresh = (label = "w") => `${label}${++serial}-${crypto.randomUUID().slice(0, 6)}:`;

    beforeAll(async () => {
      const args = [`--max-watches=${MAX_WATCHES}`, "--max-payload=1048576", ...store.args()];
      nodes = (shared ? [0, 1, 2] : [0]).map(() => startNode(args));
      node = nodes[0] as TestNode;
      // A node's start line comes before its store connection is up.
      await waitFor("every node to be ready", async () => {
        const codes = await Promise.all(
          nodes.map(async (n) => (await fetch(`${n.httpUrl}/readyz`)).status),
        );
        return codes.every((code) => code === 200);
      });
      if (shared) {
        keepers = await Promise.all(nodes.slice(0, 2).map((n) => V2Client.open(n.url)));
        await Promise.all(keepers.map((keeper) => keeper.watch({ keys: ["\u0000keeper"] })));
      }
    });
    afterAll(async () => {
      for (const client of [...opened, ...keepers]) client.close();
      await Promise.all(nodes.map((n) => n.stop()));
    });
    afterEach(async () => {
      const clients = opened;
      opened = [];
      for (const client of clients) client.close();
      await Promise.all(clients.map((client) => client.closed()));
      for (const client of clients) expect(client.violations).toEqual([]);
    });

    const open = async (on: TestNode = node): Promise<V2Client> => {
      const client = await V2Client.open(on.url);
      expect(client.protocol).toBe("kvfleet.v2");
      opened.push(client);
      return client;
    };
    const nth = (i: number) => nodes[i] as TestNode;

    /** Writes `"fence"` to each key through `writer`; awaits its event on each watch given. */
    async function fence(
      writer: V2Client,
      keys: string[],
      watches: [V2Client, number][],
    ): Promise<void> {
      const answer = await writer.ask(
        objectBody(
          "KV_SET",
          keys.map((k) => [k, '"fence"']),
        ),
      );
      expect(statuses(answer)).toHaveLength(keys.length);
      for (const [client, w] of watches) {
        for (const key of keys) {
          const text = ev(w, "set", key, '"fence"');
          await client.until(`the fence of ${key} on watch ${w}`, () =>
            client.texts(w, key).includes(text),
          );
        }
      }
    }

    describe("every row of the event table", () => {
      test("KV_SET, KV_SETQ, KV_ADD and KV_ADDQ send set with the value as stored: exact numbers, member order, compact", async () => {
        const p = fresh("set");
        const watcher = await open();
        const writer = await open();
        const w = await watcher.watch({ prefixes: [p] });
        const cases: [string, string, string, string][] = [
          // [command, key, value as sent, value as stored]
          [
            "KV_SET",
            `${p}obj`,
            '{ "b" : 1.50 , "10" : [ 1e400 , -0 , 18446744073709551617 ] , "2" : "x" }',
            '{"b":1.50,"10":[1e400,-0,18446744073709551617],"2":"x"}',
          ],
          [
            "KV_SETQ",
            `${p}str`,
            '"tab\\tquote\\"slash\\/unicode\\u00e9 é 😀"',
            '"tab\\tquote\\"slash\\/unicode\\u00e9 é 😀"',
          ],
          [
            "KV_ADD",
            `${p}dec`,
            "123456789012345678901234567890.123456789012345678901234567890",
            "123456789012345678901234567890.123456789012345678901234567890",
          ],
          ["KV_ADDQ", `${p}arr`, "[ true , false , null , { } , [ ] ]", "[true,false,null,{},[]]"],
          ["KV_SET", `${p}obj`, "9007199254740993", "9007199254740993"],
        ];
        const expected = new Map<string, string[]>();
        const last = new Map<string, string>();
        for (const [command, key, sent, stored] of cases) {
          const answer = await writer.ask(objectBody(command, [[key, sent]]));
          expect(statuses(answer)).toEqual(
            command.endsWith("Q") ? [] : [expected.has(key) ? 21 : 20],
          );
          expected.set(key, [...(expected.get(key) ?? []), ev(w, "set", key, stored)]);
          last.set(key, stored);
        }
        // Several keys in one request, a ttl, and a key that needs escaping.
        const odd = `${p}"quoted"\\ é\u0001`;
        const many = await writer.ask(
          objectBody(
            "KV_SET",
            [
              [`${p}m1`, "1"],
              [odd, "0.10"],
              [`${p}m3`, "-1e-7"],
            ],
            60_000,
          ),
        );
        expect(statuses(many)).toEqual([20, 20, 20]);
        for (const [key, stored] of [
          [`${p}m1`, "1"],
          [odd, "0.10"],
          [`${p}m3`, "-1e-7"],
        ] as const) {
          expected.set(key, [ev(w, "set", key, stored)]);
          last.set(key, stored);
        }

        const keys = [...expected.keys()];
        await watcher.until("every set event", () =>
          keys.every((k) => watcher.texts(w, k).length >= (expected.get(k) as string[]).length),
        );
        for (const key of keys) {
          // The last event's v is what KV_GET reads back, byte for byte.
          expect(storedText(await writer.ask({ KV_GET: [key] }))).toBe(last.get(key) as string);
        }
        await fence(writer, keys, [[watcher, w]]);
        for (const key of keys) {
          expect(watcher.texts(w, key)).toEqual([
            ...(expected.get(key) as string[]),
            ev(w, "set", key, '"fence"'),
          ]);
        }
      });

      test("KV_APPEND sends append with the whole value after, only when it changed the value", async () => {
        const p = fresh("app");
        const watcher = await open();
        const writer = await open();
        const w = await watcher.watch({ prefixes: [p] });
        const keys = APPEND_COMBINED.map((_, i) => `${p}${i}`);
        const set = await writer.ask(
          objectBody(
            "KV_SET",
            APPEND_COMBINED.map(([, stored], i) => [keys[i] as string, stored]),
          ),
        );
        expect(statuses(set)).toEqual(keys.map(() => 20));
        const appended = await writer.ask(
          objectBody(
            "KV_APPEND",
            APPEND_COMBINED.map(([, , added], i) => [keys[i] as string, added]),
          ),
        );
        expect(statuses(appended)).toEqual(keys.map(() => 1));
        // A second append onto the first one's result: the whole value again.
        const twice = `${p}twice`;
        await writer.ask(objectBody("KV_SET", [[twice, "[1]"]]));
        await writer.ask(objectBody("KV_APPEND", [[twice, "[2.50]"]]));
        await writer.ask(objectBody("KV_APPEND", [[twice, '[{"b":1,"a":2}]']]));
        await fence(writer, [...keys, twice], [[watcher, w]]);
        for (const [i, [label, stored, , combined]] of APPEND_COMBINED.entries()) {
          const key = keys[i] as string;
          const changed = combined === stored ? [] : [ev(w, "append", key, combined)];
          expect({ label, events: watcher.texts(w, key) }).toEqual({
            label,
            events: [ev(w, "set", key, stored), ...changed, ev(w, "set", key, '"fence"')],
          });
        }
        expect(watcher.texts(w, twice)).toEqual([
          ev(w, "set", twice, "[1]"),
          ev(w, "append", twice, "[1,2.50]"),
          ev(w, "append", twice, '[1,2.50,{"b":1,"a":2}]'),
          ev(w, "set", twice, '"fence"'),
        ]);
      });

      test("KV_RMV sends rmv for each key it removed, and nothing for a key it did not find", async () => {
        const p = fresh("rmv");
        const watcher = await open();
        const writer = await open();
        const w = await watcher.watch({ prefixes: [p] });
        const [a, b, missing] = [`${p}a`, `${p}b`, `${p}missing`];
        await writer.ask(
          objectBody("KV_SET", [
            [a, "1"],
            [b, "2"],
          ]),
        );
        const removed = await writer.ask({ KV_RMV: [a, missing, b, a] });
        expect(statuses(removed)).toEqual([24, 22, 24, 22]);
        await fence(writer, [a, b, missing], [[watcher, w]]);
        expect(watcher.texts(w, a)).toEqual([
          ev(w, "set", a, "1"),
          ev(w, "rmv", a),
          ev(w, "set", a, '"fence"'),
        ]);
        expect(watcher.texts(w, b)).toEqual([
          ev(w, "set", b, "2"),
          ev(w, "rmv", b),
          ev(w, "set", b, '"fence"'),
        ]);
        expect(watcher.texts(w, missing)).toEqual([ev(w, "set", missing, '"fence"')]);
      });

      test("a key sends expire when its ttl ends: ttl of KV_SET, KV_SETQ, KV_ADD, and KV_EXPIRE", async () => {
        const p = fresh("exp");
        const watcher = await open();
        const writer = await open();
        const w = await watcher.watch({ prefixes: [p] });
        const [a, b, c, d] = [`${p}set`, `${p}setq`, `${p}add`, `${p}expire`];
        expect(statuses(await writer.ask(objectBody("KV_SET", [[a, "1"]], 40)))).toEqual([20]);
        expect(statuses(await writer.ask(objectBody("KV_SETQ", [[b, "2"]], 40)))).toEqual([]);
        expect(statuses(await writer.ask(objectBody("KV_ADD", [[c, "3"]], 40)))).toEqual([20]);
        expect(statuses(await writer.ask(objectBody("KV_SET", [[d, "4"]])))).toEqual([20]);
        expect(statuses(await writer.ask(`{"KV_EXPIRE":{${q(d)}:40}}`))).toEqual([1]);
        const expected = [
          [a, "1"],
          [b, "2"],
          [c, "3"],
          [d, "4"],
        ] as const;
        for (const [key] of expected) {
          await watcher.until(`the expire of ${key}`, () =>
            watcher.texts(w, key).includes(ev(w, "expire", key)),
          );
        }
        expect(statuses(await writer.ask({ KV_GET: [a, b, c, d] }))).toEqual([22, 22, 22, 22]);
        await fence(writer, [a, b, c, d], [[watcher, w]]);
        for (const [key, value] of expected) {
          expect(watcher.texts(w, key)).toEqual([
            ev(w, "set", key, value),
            ev(w, "expire", key),
            ev(w, "set", key, '"fence"'),
          ]);
        }
      });

      test("a write to a key whose ttl ended comes after that key's expire", async () => {
        const p = fresh("exp2");
        const watcher = await open();
        const writer = await open();
        const w = await watcher.watch({ prefixes: [p] });
        const key = `${p}k`;
        expect(statuses(await writer.ask(objectBody("KV_SET", [[key, "1"]], 20)))).toEqual([20]);
        await Bun.sleep(60);
        expect(statuses(await writer.ask(objectBody("KV_SET", [[key, "2"]])))).toEqual([20]);
        await watcher.untilEvents(w, 3, key);
        await fence(writer, [key], [[watcher, w]]);
        expect(watcher.texts(w, key)).toEqual([
          ev(w, "set", key, "1"),
          ev(w, "expire", key),
          ev(w, "set", key, "2"),
          ev(w, "set", key, '"fence"'),
        ]);
      });

      test("KV_CLEAR sends one clear, without k, to every watch of every connection", async () => {
        const p = fresh("clr");
        const key = `${p}k`;
        const one = await open();
        const two = await open(shared ? nth(1) : node);
        const writer = await open();
        const watches: [V2Client, number][] = [
          [one, await one.watch({ keys: [key] })],
          [one, await one.watch({ prefixes: [p] })],
          [one, await one.watch({ keys: [`${p}never-written`] })],
          [two, await two.watch({ prefixes: [""] })],
        ];
        await writer.ask(objectBody("KV_SET", [[key, "1"]]));
        const cleared = await writer.ask({ KV_CLEAR: {} });
        expect((cleared.json.KV_CLEAR_RSP as { st: number }).st).toBe(1);
        for (const [client, w] of watches) {
          await client.until(`the clear on watch ${w}`, () =>
            client.texts(w).includes(ev(w, "clear")),
          );
        }
        await fence(writer, [key], watches.slice(0, 2).concat(watches.slice(3)));
        for (const [client, w] of watches) {
          expect(client.texts(w).filter((text) => text === ev(w, "clear"))).toHaveLength(1);
        }
        for (const [client, w] of [...watches.slice(0, 2), watches[3] as [V2Client, number]]) {
          const mine = client.events(w).filter((e) => e.k === key || e.op === "clear");
          expect(mine.map((e) => e.text)).toEqual([
            ev(w, "set", key, "1"),
            ev(w, "clear"),
            ev(w, "set", key, '"fence"'),
          ]);
        }
        const [, , lonely] = watches;
        expect(one.texts((lonely as [V2Client, number])[1])).toEqual([
          ev((lonely as [V2Client, number])[1], "clear"),
        ]);
      });

      test("writes that change nothing send no event: KV_ADD of an existing key, failed and empty appends, KV_RMV of a missing key, KV_EXPIRE, KV_PERSIST, reads", async () => {
        const p = fresh("none");
        const watcher = await open();
        const writer = await open();
        const w = await watcher.watch({ prefixes: [p] });
        const kept = `${p}kept`;
        const missing = `${p}missing`;
        const mismatched = APPEND_MISMATCHED.map((_, i) => `${p}mis${i}`);
        await writer.ask(objectBody("KV_SET", [[kept, '{"a":[1]}']]));
        await writer.ask(
          objectBody(
            "KV_SET",
            APPEND_MISMATCHED.map(([stored], i) => [mismatched[i] as string, stored]),
          ),
        );
        expect(statuses(await writer.ask(objectBody("KV_ADD", [[kept, "2"]])))).toEqual([23]);
        expect(statuses(await writer.ask(objectBody("KV_ADDQ", [[kept, "3"]])))).toEqual([23]);
        expect(statuses(await writer.ask(objectBody("KV_ADD", [[kept, "2"]], 50)))).toEqual([23]);
        expect(
          statuses(
            await writer.ask(
              objectBody(
                "KV_APPEND",
                APPEND_MISMATCHED.map(([, added], i) => [mismatched[i] as string, added]),
              ),
            ),
          ),
        ).toEqual(mismatched.map(() => 41));
        expect(statuses(await writer.ask(objectBody("KV_APPEND", [[kept, "{}"]])))).toEqual([1]);
        expect(statuses(await writer.ask(objectBody("KV_APPEND", [[kept, '{"a":2}']])))).toEqual([
          1,
        ]);
        expect(statuses(await writer.ask(objectBody("KV_APPEND", [[missing, "[1]"]])))).toEqual([
          22,
        ]);
        expect(statuses(await writer.ask({ KV_RMV: [missing] }))).toEqual([22]);
        expect(
          statuses(await writer.ask(`{"KV_EXPIRE":{${q(kept)}:600000,${q(missing)}:5}}`)),
        ).toEqual([1, 22]);
        expect(statuses(await writer.ask(`{"KV_EXPIRE":{${q(kept)}:"soon"}}`))).toEqual([41]);
        expect(statuses(await writer.ask({ KV_PERSIST: [kept, missing] }))).toEqual([1, 22]);
        expect(statuses(await writer.ask({ KV_PERSIST: [kept] }))).toEqual([1]);
        await writer.ask({ KV_GET: [kept, missing] });
        await writer.ask({ KV_CONTAINS: [kept] });
        await writer.ask({ KV_TTL: [kept] });
        await writer.ask({ KV_KEYS: { prefix: p } });
        await writer.ask({ KV_COUNT: {} });
        await fence(writer, [kept, missing, ...mismatched], [[watcher, w]]);
        expect(watcher.texts(w, kept)).toEqual([
          ev(w, "set", kept, '{"a":[1]}'),
          ev(w, "set", kept, '"fence"'),
        ]);
        expect(watcher.texts(w, missing)).toEqual([ev(w, "set", missing, '"fence"')]);
        for (const [i, [stored]] of APPEND_MISMATCHED.entries()) {
          const key = mismatched[i] as string;
          expect(watcher.texts(w, key)).toEqual([
            ev(w, "set", key, stored),
            ev(w, "set", key, '"fence"'),
          ]);
        }
      });
    });

    describe("what a watch matches", () => {
      test("keys match whole keys, prefixes the keys starting with them, prefixes [''] every key", async () => {
        const p = fresh("match");
        const watcher = await open();
        const writer = await open();
        const all = await watcher.watch({ prefixes: [""] });
        const exact = await watcher.watch({ keys: [`${p}a`] });
        const prefix = await watcher.watch({ prefixes: [`${p}a`] });
        const empty = await watcher.watch({ keys: [""] });
        const unicode = await watcher.watch({ prefixes: [`${p}é`] });
        const written = [`${p}a`, `${p}ab`, `${p}b`, `${p}A`, p, `${p}é1`, `${p}e`, "", `x${p}a`];
        for (const key of written) await writer.ask(objectBody("KV_SET", [[key, "1"]]));
        await fence(writer, written, [[watcher, all]]);
        // No order is promised between keys.
        const keysOf = (w: number) =>
          [...new Set(watcher.events(w).map((e) => e.k as string))].sort();
        expect(keysOf(all)).toEqual([...written].sort());
        expect(keysOf(exact)).toEqual([`${p}a`]);
        expect(keysOf(prefix)).toEqual([`${p}a`, `${p}ab`].sort());
        expect(keysOf(empty)).toEqual([""]);
        expect(keysOf(unicode)).toEqual([`${p}é1`]);
        for (const w of [all, exact, prefix, empty, unicode]) {
          for (const key of keysOf(w)) {
            expect(watcher.texts(w, key as string)).toEqual([
              ev(w, "set", key, "1"),
              ev(w, "set", key, '"fence"'),
            ]);
          }
        }
      });

      test("one event per watch when several watches of a connection match, and when both keys and prefixes of one watch do", async () => {
        const p = fresh("dup");
        const key = `${p}k`;
        const watcher = await open();
        const another = await open();
        const writer = await open();
        const bodies = [
          { keys: [key] },
          { prefixes: [p] },
          { keys: [key], prefixes: [p] },
          { keys: [key, key] },
          { prefixes: [p, p.slice(0, -1), ""] },
          { keys: [key, `${p}other`], prefixes: ["", p, p] },
        ];
        const watches: [V2Client, number][] = [];
        for (const body of bodies) watches.push([watcher, await watcher.watch(body)]);
        watches.push([another, await another.watch({ keys: [key], prefixes: [p] })]);
        expect(new Set(watches.slice(0, bodies.length).map(([, w]) => w)).size).toBe(bodies.length);
        await writer.ask(objectBody("KV_SET", [[key, "1"]]));
        await writer.ask(objectBody("KV_APPEND", [[key, "1"]]));
        await writer.ask({ KV_RMV: [key] });
        await fence(writer, [key], watches);
        for (const [client, w] of watches) {
          expect(client.texts(w, key)).toEqual([
            ev(w, "set", key, "1"),
            ev(w, "rmv", key),
            ev(w, "set", key, '"fence"'),
          ]);
        }
        // Nothing of other keys crept in either.
        for (const [client, w] of watches) {
          expect(client.events(w).every((e) => e.k === key)).toBe(true);
        }
      });

      // On the memory store a watch sees exactly the changes after it. On Redis an event the
      // store published just before the watch registered may still be on its way from the
      // subscriber connection and reach it too (docs/protocol-v2.md, "Change events"): at
      // most the write's own `set`, before the later change, never a change missed.
      test("a watch opened after a write sees the changes after it, and on memory only those: 30 rounds, the write through the watcher's own connection and through another node", async () => {
        const p = fresh("late");
        const watcher = await open();
        const writer = await open(shared ? nth(2) : node);
        // Writes of other keys just before, so that the node has events of its own to deliver.
        const noise = objectBody(
          "KV_SETQ",
          Array.from({ length: 200 }, (_, j) => [`${p}noise${j}`, q("x".repeat(100))]),
        );
        const stale: string[] = [];
        for (let round = 0; round < 30; round++) {
          for (const [via, label] of [
            [watcher, "own"],
            [writer, "other"],
          ] as const) {
            const key = `${p}${round}-${label}`;
            via.send(noise);
            expect(statuses(await via.ask(objectBody("KV_SET", [[key, "[1]"]])))).toEqual([20]);
            // The write was answered before KV_WATCH was sent.
            const w = await watcher.watch({ keys: [key] });
            expect(statuses(await via.ask(objectBody("KV_APPEND", [[key, "[2]"]])))).toEqual([1]);
            const later = ev(w, "append", key, "[1,2]");
            await watcher.until(`the append of ${key}`, () =>
              watcher.texts(w, key).includes(later),
            );
            const texts = watcher.texts(w, key);
            const early = ev(w, "set", key, "[1]");
            const allowed =
              texts.length === 1
                ? texts[0] === later
                : shared && texts.length === 2 && texts[0] === early && texts[1] === later;
            if (!allowed) {
              stale.push(`round ${round}, written through ${label}: ${texts.join(" ")}`);
            }
            await watcher.unwatch(w);
          }
        }
        expect(stale).toEqual([]);
      }, 20_000);
    });

    describe("KV_UNWATCH", () => {
      test("answers st 1 with w, and no event of w follows its answer, even mid-stream", async () => {
        const p = fresh("unw");
        const key = `${p}k`;
        const watcher = await open();
        const writer = await open();
        const gone = await watcher.watch({ keys: [key] });
        const stays = await watcher.watch({ prefixes: [p] });
        const n = 300;
        for (let i = 0; i < n; i++) writer.send(objectBody("KV_SETQ", [[key, String(i)]]));
        await watcher.until(
          "some events before the KV_UNWATCH",
          () => watcher.events(gone).length > 5,
        );
        const answer = await watcher.unwatch(gone);
        expect(answer.text).toBe(`{"id":${answer.json.id},"KV_UNWATCH_RSP":{"st":1,"w":${gone}}}`);
        // Every write ran (the connection answers in order), then one last one.
        await writer.ask({ KV_COUNT: {} });
        await writer.ask(objectBody("KV_SET", [[key, '"end"']]));
        await watcher.until("the last event", () =>
          watcher.texts(stays, key).includes(ev(stays, "set", key, '"end"')),
        );
        const kept = watcher.events(stays, key);
        expect(kept).toHaveLength(n + 1);
        expect(kept.at(-1)?.text).toBe(ev(stays, "set", key, '"end"'));
        const values = kept.slice(0, n).map((e) => (e.json.KV_EVENT as { v: number }).v);
        expect([...values].sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
        // The ended watch saw a beginning of the same sequence, all before its answer.
        const ended = watcher.events(gone);
        expect(ended.length).toBeGreaterThan(5);
        expect(ended.length).toBeLessThan(n + 1);
        expect(ended.every((e) => e.index < answer.index)).toBe(true);
        expect(ended.map((e) => e.json.KV_EVENT)).toEqual(
          kept.slice(0, ended.length).map((e) => ({ ...(e.json.KV_EVENT as object), w: gone })),
        );
      });

      test("a w the connection does not have answers st 22 with that w: unknown, already ended, another connection's", async () => {
        const p = fresh("unw22");
        const one = await open();
        const two = await open();
        const w1 = await one.watch({ prefixes: [p] });
        const w2 = await one.watch({ prefixes: [p] });
        const only = await two.watch({ prefixes: [p] });
        expect(w2).not.toBe(w1);
        const other = [w1, w2].find((w) => w !== only) as number;
        const probe = async (client: V2Client, w: number) => {
          const answer = await client.ask({ KV_UNWATCH: { w } });
          return answer.text.slice(answer.text.indexOf(',"') + 1);
        };
        expect(await probe(one, 999_999)).toBe(`"KV_UNWATCH_RSP":{"st":22,"w":999999}}`);
        expect(await probe(two, other)).toBe(`"KV_UNWATCH_RSP":{"st":22,"w":${other}}}`);
        await one.unwatch(w1);
        expect(await probe(one, w1)).toBe(`"KV_UNWATCH_RSP":{"st":22,"w":${w1}}}`);
        // The other watches are untouched, and a new watch gets a w not used before.
        const w3 = await one.watch({ prefixes: [p] });
        expect([w1, w2]).not.toContain(w3);
        const writer = await open();
        await fence(
          writer,
          [`${p}k`],
          [
            [one, w2],
            [one, w3],
            [two, only],
          ],
        );
        expect(one.events(w1)).toEqual([]);
      });
    });

    describe("errors", () => {
      const watchBodies: [string, string | null][] = [
        // [body, a word m must contain (null: whatever)]
        ["{}", null],
        ['{"keys":[]}', null],
        ['{"prefixes":[]}', null],
        ['{"keys":[],"prefixes":[]}', null],
        ['{"keys":"a"}', "keys"],
        ['{"keys":[1]}', "keys"],
        ['{"keys":["a",null]}', "keys"],
        ['{"keys":{"a":1}}', "keys"],
        ['{"prefixes":"a"}', "prefixes"],
        ['{"prefixes":[["a"]]}', "prefixes"],
        ['{"keys":["a"],"prefixes":null}', "prefixes"],
        ['{"keys":["a"],"key":["b"]}', "key"],
        ['{"keys":["a"],"w":1}', "w"],
        ['["a"]', "KV_WATCH"],
        ['"a"', "KV_WATCH"],
        ["null", "KV_WATCH"],
        ["1", "KV_WATCH"],
      ];
      test.each(watchBodies)(
        "KV_WATCH %s answers KV_ERR 12 with its id and opens nothing",
        async (body, word) => {
          const client = await open();
          const writer = await open();
          const id = client.post(`{"KV_WATCH":${body}}`);
          const answer = await client.answer(id);
          expect(answer.text).toStartWith(`{"id":${id},"KV_ERR":{"st":12,"m":`);
          const m = (answer.json.KV_ERR as { m: string }).m;
          expect(m.length).toBeGreaterThan(0);
          if (word !== null) expect(m).toContain(word);
          // No watch came of it: the only events are those of a watch opened after.
          const p = fresh("err");
          const w = await client.watch({ keys: [`${p}k`] });
          await fence(writer, [`${p}k`], [[client, w]]);
          expect(client.allEvents().map((e) => e.text)).toEqual([ev(w, "set", `${p}k`, '"fence"')]);
        },
      );

      test.each([
        ["{}", "w"],
        ['{"w":0}', "w"],
        ['{"w":-1}', "w"],
        ['{"w":1.5}', "w"],
        ['{"w":"1"}', "w"],
        ['{"w":null}', "w"],
        ['{"w":1,"x":2}', "x"],
        ["[1]", "KV_UNWATCH"],
      ])("KV_UNWATCH %s answers KV_ERR 12 with its id", async (body, word) => {
        const client = await open();
        const w = await client.watch({ keys: ["a"] });
        const id = client.post(`{"KV_UNWATCH":${body}}`);
        const answer = await client.answer(id);
        expect(answer.text).toStartWith(`{"id":${id},"KV_ERR":{"st":12,"m":`);
        expect((answer.json.KV_ERR as { m: string }).m).toContain(word);
        // The watch is still there.
        await client.unwatch(w);
      });

      test(`past --max-watches=${MAX_WATCHES}, KV_WATCH answers KV_ERR 12 with its id; the bound is per connection and KV_UNWATCH frees a place`, async () => {
        const p = fresh("max");
        const key = `${p}k`;
        const client = await open();
        const second = await open();
        const writer = await open();
        // Sent all at once, so that concurrent requests can't pass the bound together.
        const ids = Array.from({ length: MAX_WATCHES + 3 }, () =>
          client.post({ KV_WATCH: { keys: [key] } }),
        );
        const answers = await Promise.all(ids.map((id) => client.answer(id)));
        const ok = answers.filter((a) => (a.json.KV_WATCH_RSP as { st?: number })?.st === 1);
        const refused = answers.filter((a) => a.json.KV_ERR !== undefined);
        expect(ok).toHaveLength(MAX_WATCHES);
        expect(refused).toHaveLength(3);
        for (const answer of refused) {
          expect(answer.text).toStartWith(`{"id":${answer.json.id},"KV_ERR":{"st":12,"m":`);
        }
        const ws = ok.map((a) => (a.json.KV_WATCH_RSP as { w: number }).w);
        // Numbered from 1 on each connection, each w once.
        expect(ws[0]).toBe(1);
        expect(new Set(ws).size).toBe(MAX_WATCHES);
        // Another connection has its own bound.
        const theirs: number[] = [];
        for (let i = 0; i < MAX_WATCHES; i++) theirs.push(await second.watch({ keys: [key] }));
        expect(theirs[0]).toBe(1);
        await writer.ask(objectBody("KV_SET", [[key, "1"]]));
        await client.until(
          "one event per accepted watch",
          () => client.allEvents().length >= MAX_WATCHES,
        );
        await second.until("one event per watch", () => second.allEvents().length >= MAX_WATCHES);
        // Still full; an unwatch makes room for exactly one.
        const full = await client.ask({ KV_WATCH: { keys: [key] } });
        expect((full.json.KV_ERR as { st: number }).st).toBe(12);
        await client.unwatch(ws[0] as number);
        const again = await client.watch({ keys: [key] });
        expect(ws).not.toContain(again);
        const still = await client.ask({ KV_WATCH: { keys: [key] } });
        expect((still.json.KV_ERR as { st: number }).st).toBe(12);
        const watches: [V2Client, number][] = [
          ...[...ws.slice(1), again].map((w): [V2Client, number] => [client, w]),
          ...theirs.map((w): [V2Client, number] => [second, w]),
        ];
        await fence(writer, [key], watches);
        expect(client.allEvents()).toHaveLength(MAX_WATCHES * 2);
        for (const w of ws.slice(1)) {
          expect(client.texts(w)).toEqual([ev(w, "set", key, "1"), ev(w, "set", key, '"fence"')]);
        }
        expect(client.texts(again)).toEqual([ev(again, "set", key, '"fence"')]);
      });

      test("a version 1 connection gets 10 for KV_WATCH and KV_UNWATCH, and never an event", async () => {
        const p = fresh("v1");
        const key = `${p}k`;
        const watcher = await open();
        const w = await watcher.watch({ prefixes: [""] });
        const v1 = await TestClient.open(node.url);
        try {
          expect(v1.socket.protocol).toBe("");
          v1.send(`{"KV_WATCH":{"keys":[${q(key)}]}}`);
          expect(await v1.nextText()).toBe('{"KV_ERR":{"st":10,"m":"KV_WATCH"}}');
          v1.send('{"KV_UNWATCH":{"w":1}}');
          expect(await v1.nextText()).toBe('{"KV_ERR":{"st":10,"m":"KV_UNWATCH"}}');
          // Its writes reach v2 watchers; it gets nothing but its answers.
          v1.send(`{"KV_SET":{${q(key)}:[1]}}`);
          expect(await v1.nextText()).toBe(`{"KV_SET_RSP":{"st":20,"k":${q(key)}}}`);
          v1.send(`{"KV_APPEND":{${q(key)}:[2]}}`);
          expect(await v1.nextText()).toBe(`{"KV_APPEND_RSP":{"st":1,"k":${q(key)}}}`);
          v1.send(`{"KV_RMV":[${q(key)}]}`);
          expect(await v1.nextText()).toBe(`{"KV_RMV_RSP":{"st":24,"k":${q(key)}}}`);
          await fence(watcher, [key], [[watcher, w]]);
          v1.send('{"KV_COUNT":{}}');
          expect(await v1.nextText()).toStartWith('{"KV_COUNT_RSP":');
          expect(v1.unread).toBe(0);
        } finally {
          v1.close();
        }
        expect(watcher.texts(w, key)).toEqual([
          ev(w, "set", key, "[1]"),
          ev(w, "append", key, "[1,2]"),
          ev(w, "rmv", key),
          ev(w, "set", key, '"fence"'),
        ]);
      });
    });

    test("metrics: kvfleet_watches follows open watches, kvfleet_events_total counts one per event sent, kvfleet_watch_resets_total stays", async () => {
      const p = fresh("met");
      const key = `${p}k`;
      const sample = async (name: string) => (await scrape(node)).get(name) ?? Number.NaN;
      const kept = shared ? 1 : 0;
      await waitFor("the earlier tests' watches to close", async () => {
        return (await sample("kvfleet_watches")) === kept;
      });
      const before = await scrape(node);
      const events0 = before.get("kvfleet_events_total") as number;
      const watcher = await open();
      const writer = await open();
      const w1 = await watcher.watch({ keys: [key] });
      const w2 = await watcher.watch({ prefixes: [p] });
      const w3 = await watcher.watch({ keys: [`${p}other`] });
      expect(await sample("kvfleet_watches")).toBe(kept + 3);
      const refused = await watcher.ask({ KV_WATCH: {} });
      expect((refused.json.KV_ERR as { st: number }).st).toBe(12);
      await watcher.unwatch(w3);
      expect(await sample("kvfleet_watches")).toBe(kept + 2);
      await writer.ask(objectBody("KV_SET", [[key, "1"]]));
      await writer.ask(objectBody("KV_SET", [[`${p}x`, "1"]]));
      await watcher.until("3 events", () => watcher.allEvents().length >= 3);
      expect((await sample("kvfleet_events_total")) - events0).toBe(3);
      await writer.ask({ KV_CLEAR: {} });
      await watcher.until("2 clears", () => watcher.allEvents().length >= 5);
      if (shared) {
        const keeper = keepers[0] as V2Client;
        await keeper.until("the keeper's clear", () => keeper.allEvents().at(-1)?.op === "clear");
      }
      const after = await scrape(node);
      // One clear for the node's keeper too.
      expect((after.get("kvfleet_events_total") as number) - events0).toBe(5 + kept);
      expect(after.get("kvfleet_watch_resets_total")).toBe(
        before.get("kvfleet_watch_resets_total") as number,
      );
      expect(watcher.texts(w1)).toEqual([ev(w1, "set", key, "1"), ev(w1, "clear")]);
      expect(watcher.texts(w2).at(-1)).toBe(ev(w2, "clear"));
      watcher.close();
      await watcher.closed();
      await waitFor("the closed connection's watches to end", async () => {
        return (await sample("kvfleet_watches")) === kept;
      });
    });

    if (store.redisPorts !== undefined) {
      const redisPorts = store.redisPorts;

      describe("nodes sharing the store", () => {
        test("every kind of change made through another node reaches the watcher", async () => {
          const p = fresh("far");
          const watcher = await open(nth(0));
          const writer = await open(nth(1));
          const w = await watcher.watch({ prefixes: [p] });
          const [a, b, c] = [`${p}a`, `${p}b`, `${p}c`];
          await writer.ask(
            objectBody("KV_SET", [
              [a, "[1.0]"],
              [b, '"s"'],
            ]),
          );
          await writer.ask(objectBody("KV_ADD", [[c, "18446744073709551617"]], 40));
          await writer.ask(objectBody("KV_APPEND", [[a, '[{"z":1,"a":2}]']]));
          await writer.ask({ KV_RMV: [b] });
          await watcher.until("the expire", () => watcher.texts(w, c).includes(ev(w, "expire", c)));
          await writer.ask({ KV_CLEAR: {} });
          await watcher.until("the clear", () => watcher.texts(w).includes(ev(w, "clear")));
          await fence(writer, [a, b, c], [[watcher, w]]);
          const seen = (k: string) =>
            watcher.events(w).filter((e) => e.k === k || e.op === "clear");
          expect(seen(a).map((e) => e.text)).toEqual([
            ev(w, "set", a, "[1.0]"),
            ev(w, "append", a, '[1.0,{"z":1,"a":2}]'),
            ev(w, "clear"),
            ev(w, "set", a, '"fence"'),
          ]);
          expect(seen(b).map((e) => e.text)).toEqual([
            ev(w, "set", b, '"s"'),
            ev(w, "rmv", b),
            ev(w, "clear"),
            ev(w, "set", b, '"fence"'),
          ]);
          expect(seen(c).map((e) => e.text)).toEqual([
            ev(w, "set", c, "18446744073709551617"),
            ev(w, "expire", c),
            ev(w, "clear"),
            ev(w, "set", c, '"fence"'),
          ]);
        });

        test("three nodes racing KV_SET and KV_APPEND on one key: two watchers on different nodes see the same sequence, its last value is KV_GET's", async () => {
          const p = fresh("race");
          const key = `${p}k`;
          const a = await open(nth(0));
          const b = await open(nth(1));
          const wa = await a.watch({ keys: [key] });
          const wb = await b.watch({ prefixes: [p] });
          const writers = await Promise.all([0, 1, 2].map((i) => open(nth(i))));
          const ROUNDS = 60;
          const sent = writers.map((writer, n) => {
            const ids: number[] = [];
            for (let i = 0; i < ROUNDS; i++) {
              const op = (i + n) % 3 === 0 ? "KV_SET" : "KV_APPEND";
              ids.push(writer.post(objectBody(op, [[key, `["n${n}-${i}"]`]])));
            }
            return ids;
          });
          const answers = await Promise.all(
            writers.flatMap((writer, n) => (sent[n] as number[]).map((id) => writer.answer(id))),
          );
          const sts = answers.map((answer) => statuses(answer)[0]);
          // The first append may find no key yet; every other write lands.
          const landed = sts.filter((st) => st !== 22).length;
          expect(sts.every((st) => st === 1 || st === 20 || st === 21 || st === 22)).toBe(true);
          await a.untilEvents(wa, landed, key);
          await b.untilEvents(wb, landed, key);
          const seq = (client: V2Client, w: number) =>
            client.events(w, key).map((e) => {
              const { op, v } = e.json.KV_EVENT as { op: string; v: unknown };
              return { op, v };
            });
          const fromA = seq(a, wa);
          expect(fromA).toHaveLength(landed);
          expect(seq(b, wb)).toEqual(fromA);
          // A history the store could have applied: each append extends the value before it.
          let state: string[] | null = null;
          for (const { op, v } of fromA) {
            const value = v as string[];
            if (op === "append") {
              expect(state).not.toBeNull();
              expect(value.slice(0, -1)).toEqual(state as string[]);
              expect(value).toHaveLength((state as string[]).length + 1);
            } else {
              expect(op).toBe("set");
              expect(value).toHaveLength(1);
            }
            state = value;
          }
          const last = a.events(wa, key).at(-1) as Frame;
          const got = await writers[2]?.ask({ KV_GET: [key] });
          expect(storedText(got as Frame)).toBe(
            last.text.slice(last.text.indexOf(',"v":') + 5, -2),
          );
        }, 20_000);

        if (store.cluster) {
          test("a prefix watch across Cluster slots: keys of every master under one prefix all arrive, on each node", async () => {
            const p = fresh("slots");
            const ports = redisPorts();
            const owners = await slotOwners(ports[0] as number);
            const keys = Array.from({ length: 300 }, (_, i) => `${p}${i}`);
            const masters = new Set(keys.map((k) => owners[calculateSlot(k)]));
            expect([...masters].sort()).toEqual([...ports].sort());
            const near = await open(nth(0));
            const far = await open(nth(1));
            const wn = await near.watch({ prefixes: [p] });
            const wf = await far.watch({ prefixes: [""] });
            const writer = await open(nth(2));
            const set = await writer.ask(
              objectBody(
                "KV_SET",
                keys.map((k, i) => [k, `[${i}]`]),
              ),
            );
            expect(statuses(set)).toEqual(keys.map(() => 20));
            const removed = await writer.ask({ KV_RMV: keys });
            expect(statuses(removed)).toEqual(keys.map(() => 24));
            for (const [client, w] of [
              [near, wn],
              [far, wf],
            ] as const) {
              await client.until(
                "a set and a rmv of every key",
                () => client.events(w).filter((e) => e.k?.startsWith(p)).length >= 2 * keys.length,
              );
              for (const [i, key] of keys.entries()) {
                expect(client.texts(w, key)).toEqual([
                  ev(w, "set", key, `[${i}]`),
                  ev(w, "rmv", key),
                ]);
              }
            }
          });
        }

        test("nothing stays subscribed in Redis once the last watch ends: by KV_UNWATCH, by closing, or closed while KV_WATCH was pending", async () => {
          const listed = () => subscriptions(redisPorts());
          for (const keeper of keepers) keeper.close();
          await Promise.all(keepers.map((keeper) => keeper.closed()));
          for (const keeper of keepers) expect(keeper.violations).toEqual([]);
          keepers = [];
          await noSubscriptions(redisPorts(), "earlier tests");
          const one = await open(nth(0));
          const two = await open(nth(1));
          const w = await one.watch({ keys: ["k"] });
          await two.watch({ prefixes: [""] });
          expect(await listed()).not.toBe("");
          // Each watching node subscribes on every master: the event channel (a Cluster: the
          // channel of every slot the master holds) and the expired-key notifications.
          expect(await feedSubscribers(redisPorts(), store.cluster === true)).toEqual(
            await feedSubscribers(redisPorts(), store.cluster === true, 2),
          );
          await one.unwatch(w);
          two.close();
          await two.closed();
          await noSubscriptions(redisPorts(), "an unwatch and a close");
          // A connection that goes while its first KV_WATCH waits for the feed.
          for (let i = 0; i < 3; i++) {
            const hasty = await V2Client.open(nth(2).url);
            hasty.post({ KV_WATCH: { prefixes: [""] } });
            hasty.close();
            await hasty.closed();
          }
          await noSubscriptions(redisPorts(), "connections closed while KV_WATCH was pending");
          expect((await scrape(nth(2))).get("kvfleet_watches")).toBe(0);
          // And a watch opened afterwards works again.
          const again = await open(nth(2));
          const w2 = await again.watch({ keys: ["k"] });
          const writer = await open(nth(0));
          await fence(writer, ["k"], [[again, w2]]);
        }, 20_000);
      });
    }
  });
}

/**
 * The channels with subscribers on each server (plain and shard channels),
 * one "port channel" a line; "" when none.
 */
export async function subscriptions(ports: readonly number[]): Promise<string> {
  const lines: string[] = [];
  for (const port of ports) {
    for (const kind of ["CHANNELS", "SHARDCHANNELS"]) {
      const out = await redisCli(port, "PUBSUB", kind);
      for (const channel of out.split("\n")) {
        if (channel.trim() !== "") lines.push(`${port} ${kind} ${channel.trim()}`);
      }
    }
  }
  return lines.join("\n");
}

/**
 * What each server has of the change feed's subscriptions, one line a server:
 * subscribers of the expired-key channel and of the event channel (on a
 * Cluster, of the channel of one slot the master holds) and, on a Cluster,
 * how many of its slots' channels have a subscriber. With `expect`, the
 * lines as they are when `expect` nodes watch.
 */
async function feedSubscribers(
  ports: readonly number[],
  cluster: boolean,
  expect?: number,
): Promise<string[]> {
  const owners = cluster ? await slotOwners(ports[0] as number) : [];
  const lines: string[] = [];
  for (const port of ports) {
    const numsub = async (kind: string, channel: string) =>
      Number((await redisCli(port, "PUBSUB", kind, channel)).trim().split("\n")[1]);
    if (!cluster) {
      const expired = expect ?? (await numsub("NUMSUB", expiredChannel(0)));
      const events = expect ?? (await numsub("NUMSUB", singleChannel(0)));
      lines.push(`${port}: expired ${expired}, events ${events}`);
      continue;
    }
    const slots = owners.flatMap((owner, slot) => (owner === port ? [slot] : []));
    const held = new Set(slots.map((slot) => slotChannel(slot)));
    const expired = expect ?? (await numsub("NUMSUB", expiredChannel(0)));
    const events = expect ?? (await numsub("SHARDNUMSUB", slotChannel(slots[0] as number)));
    const listed = (await redisCli(port, "PUBSUB", "SHARDCHANNELS")).split("\n");
    const covered =
      expect === undefined ? listed.filter((c) => held.has(c.trim())).length : held.size;
    lines.push(
      `${port}: expired ${expired}, events ${events}, slot channels ${covered}/${held.size}`,
    );
  }
  return lines;
}

/** Awaits `subscriptions(ports)` to be empty; fails with what is still subscribed. */
async function noSubscriptions(ports: readonly number[], after: string): Promise<void> {
  let left = "";
  try {
    await waitFor(`no subscription left after ${after}`, async () => {
      left = await subscriptions(ports);
      return left === "";
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}; still subscribed:\n${left}`);
  }
}

/** The master port of each of the 16384 slots, from CLUSTER NODES. */
async function slotOwners(port: number): Promise<number[]> {
  const owners = new Array<number>(16384);
  for (const line of (await redisCli(port, "CLUSTER", "NODES")).split("\n")) {
    const [, address, flags, , , , , , ...ranges] = line.trim().split(" ");
    if (address === undefined || !flags?.includes("master")) continue;
    const owner = Number(/:(\d+)@/.exec(address)?.[1]);
    for (const range of ranges) {
      if (range.startsWith("[")) continue;
      const [from, to] = range.split("-").map(Number);
      for (let s = from as number; s <= (to ?? from ?? -1); s++) owners[s] = owner;
    }
  }
  return owners;
}
