import { describe, expect, test } from "bun:test";
import type { Outcome } from "../../src/protocol/outcome.ts";
import { parseMessage } from "../../src/protocol/requests-v1.ts";
import { parseRequest } from "../../src/protocol/requests-v2.ts";
import { encodeV1 } from "../../src/protocol/responses-v1.ts";
import { encodeV2 } from "../../src/protocol/responses-v2.ts";
import { execute } from "../../src/server/execute.ts";
import { Watches } from "../../src/server/watches.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import type { Store } from "../../src/store/store.ts";

const counters = { version: "9.8.7", queries: 42 };

function run(message: string, store: Store): Promise<string[]> {
  const command = parseMessage(message);
  if (command.name === "KV_ERR" || command.name === "BODY_TYPE") throw new Error("not a command");
  return Promise.resolve(execute(command, store, counters)).then((o) => encodeV1(command, o));
}

/** A store whose every operation throws, or rejects, with `reason`. */
function broken(mode: "throw" | "reject", reason = "store down"): Store {
  const fail = () => {
    if (mode === "throw") throw new Error(reason);
    return Promise.reject(new Error(reason));
  };
  return {
    description: "broken",
    set: fail,
    add: fail,
    get: fail,
    remove: fail,
    contains: fail,
    append: fail,
    expire: fail,
    persist: fail,
    ttl: fail,
    keys: fail,
    count: fail,
    clear: fail,
    watch: fail,
    ready: () => Promise.resolve(false),
    close: () => Promise.resolve(),
  };
}

describe("execute", () => {
  test("answers synchronously for a synchronous store", () => {
    const command = parseMessage('{"KV_SET":{"a":1}}');
    if (!("keys" in command)) throw new Error("expected a command");
    const outcome = execute(command, new MemoryStore(), counters) as Outcome;
    expect(encodeV1(command, outcome)).toEqual(['{"KV_SET_RSP":{"st":20,"k":"a"}}']);
  });

  test("KV_SERVER_INFO reports the counters", async () => {
    expect(await run('{"KV_SERVER_INFO":{}}', new MemoryStore())).toEqual([
      '{"KV_SERVER_INFO_RSP":{"st":1,"qryCnt":42,"version":"9.8.7"}}',
    ]);
  });

  for (const mode of ["throw", "reject"] as const) {
    describe(`a store that ${mode}s`, () => {
      test("answers 100 for each key of a per-key command, 26 still for non-strings", async () => {
        expect(await run('{"KV_GET":["a",1,"b"]}', broken(mode))).toEqual([
          '{"KV_GET_RSP":{"st":100,"k":"a"}}',
          '{"KV_GET_RSP":{"st":26,"k":""}}',
          '{"KV_GET_RSP":{"st":100,"k":"b"}}',
        ]);
        expect(await run('{"KV_APPEND":{"a":[1]}}', broken(mode))).toEqual([
          '{"KV_APPEND_RSP":{"st":100,"k":"a"}}',
        ]);
      });

      test("quiet commands answer their failures", async () => {
        expect(await run('{"KV_SETQ":{"a":1,"b":2}}', broken(mode))).toEqual([
          '{"KV_SETQ_RSP":{"st":100,"k":"a"}}',
          '{"KV_SETQ_RSP":{"st":100,"k":"b"}}',
        ]);
        expect(await run('{"KV_ADDQ":{"a":1}}', broken(mode))).toEqual([
          '{"KV_ADDQ_RSP":{"st":100,"k":"a"}}',
        ]);
      });

      test("KV_COUNT and KV_CLEAR answer 100 with the reason", async () => {
        expect(await run('{"KV_COUNT":{}}', broken(mode, 'down "hard"'))).toEqual([
          '{"KV_COUNT_RSP":{"st":100,"m":"down \\"hard\\""}}',
        ]);
        expect(await run('{"KV_CLEAR":{}}', broken(mode))).toEqual([
          '{"KV_CLEAR_RSP":{"st":100,"m":"store down"}}',
        ]);
      });
    });
  }

  test("a per-key failure from the store answers 100 for that key only", async () => {
    const store = new MemoryStore();
    const partial: Store = Object.assign(Object.create(store) as Store, {
      get: (keys: readonly string[]) => Promise.resolve(keys.map((k) => (k === "b" ? 100 : 22))),
    });
    expect(await run('{"KV_GET":["a","b"]}', partial)).toEqual([
      '{"KV_GET_RSP":{"st":22,"k":"a"}}',
      '{"KV_GET_RSP":{"st":100,"k":"b"}}',
    ]);
  });
});

describe("execute: version 2 commands", () => {
  test("a KV_WATCH the store cannot serve fails whole with 100, not per key", async () => {
    const request = parseRequest('{"id":3,"KV_WATCH":{"keys":["a"]}}');
    if (!request.ok) throw new Error(request.m);
    const store = new MemoryStore();
    const session = new Watches(broken("reject"), 10, {
      watching: () => {},
      sent: () => {},
      reset: () => {},
    }).session(() => {});
    const outcome = await execute(request.command, store, counters, session);
    expect(outcome).toMatchObject({ kind: "failed", st: 100 });
    expect(encodeV2(request.command, request.id, outcome)).toEqual([
      '{"id":3,"KV_ERR":{"st":100,"m":"store down"}}',
    ]);
  });
});
