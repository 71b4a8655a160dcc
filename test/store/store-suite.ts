import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Status } from "../../src/protocol/status.ts";
import type { Store } from "../../src/store/store.ts";
import { APPEND_COMBINED, APPEND_MISMATCHED } from "../support/append-cases.ts";

/**
 * The contract every Store implementation honours. `open` must give a store
 * that is connected and empty; `dispose` releases it after each test.
 */
export function storeSuite(
  name: string,
  open: () => Promise<Store>,
  dispose: (store: Store) => Promise<void> = (store) => store.close(),
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await dispose(store);
    });

    const key = (label: string) => `${label}:${crypto.randomUUID()}`;

    test("set answers 20 for a new key, 21 for an existing one, and get reads it back", async () => {
      const k = key("set");
      expect(await store.set([k], ["1"])).toEqual([Status.KeySet]);
      expect(await store.set([k], ['{"a":[1,2]}'])).toEqual([Status.KeyUpdated]);
      expect(await store.get([k])).toEqual(['{"a":[1,2]}']);
    });

    test("add stores only new keys and leaves existing values untouched", async () => {
      const k = key("add");
      expect(await store.add([k], ['"first"'])).toEqual([Status.KeySet]);
      expect(await store.add([k], ['"second"'])).toEqual([Status.KeyExists]);
      expect(await store.get([k])).toEqual(['"first"']);
    });

    test("get, remove and contains answer 22 for a missing key", async () => {
      const k = key("missing");
      expect(await store.get([k])).toEqual([Status.KeyNotExist]);
      expect(await store.remove([k])).toEqual([Status.KeyNotExist]);
      expect(await store.contains([k])).toEqual([Status.KeyNotExist]);
    });

    test("remove answers 24 then 22 for the same key named twice", async () => {
      const k = key("rmv");
      await store.set([k], ["null"]);
      expect(await store.contains([k])).toEqual([Status.KeyExists]);
      expect(await store.remove([k, k])).toEqual([Status.KeyRemoved, Status.KeyNotExist]);
      expect(await store.contains([k])).toEqual([Status.KeyNotExist]);
    });

    test("keys are exact strings: lone surrogates, NUL and look-alikes stay distinct", async () => {
      const id = crypto.randomUUID();
      const keys = [
        `\ud800${id}`,
        `\udc00${id}`,
        `\ufffd${id}`,
        `\u0000"\\ud800${id}"`,
        `\u0000${id}`,
        id,
      ];
      expect(
        await store.set(
          keys,
          keys.map((_, i) => String(i)),
        ),
      ).toEqual(keys.map(() => Status.KeySet));
      expect(await store.get(keys)).toEqual(keys.map((_, i) => String(i)));
      expect(await store.remove([keys[0] as string])).toEqual([Status.KeyRemoved]);
      expect(await store.contains(keys)).toEqual(
        keys.map((_, i) => (i === 0 ? Status.KeyNotExist : Status.KeyExists)),
      );
    });

    test("a batch answers one result per key, in order", async () => {
      const keys = Array.from({ length: 50 }, (_, i) => key(`batch${i}`));
      const existing = keys.filter((_, i) => i % 3 === 0);
      await store.set(
        existing,
        existing.map(() => "0"),
      );
      const values = keys.map((_, i) => `[${i}]`);
      expect(await store.set(keys, values)).toEqual(
        keys.map((_, i) => (i % 3 === 0 ? Status.KeyUpdated : Status.KeySet)),
      );
      const extra = key("absent");
      expect(await store.get([...keys, extra])).toEqual([...values, Status.KeyNotExist]);
    });

    test("values keep their exact text: big numbers, decimals, empty and nested containers", async () => {
      const values = [
        "18446744073709551617",
        "9007199254740993",
        "0.1",
        "1e21",
        "1e400",
        "-0.000000000000000000000000001",
        "[]",
        "{}",
        '[[],{},[{}],{"a":[]}]',
        '{"10":1,"2":2,"b":3,"1":4}',
        '"\\ud800 lone, \\u00e9 escaped, é raw, 😀"',
        "true",
        "false",
        "null",
      ];
      const keys = values.map((_, i) => key(`exact${i}`));
      await store.set(keys, values);
      expect(await store.get(keys)).toEqual(values);
    });

    describe("append", () => {
      for (const [label, stored, added, combined] of APPEND_COMBINED) {
        test(`${label} answers 1 and combines`, async () => {
          const k = key("append");
          await store.set([k], [stored]);
          expect(await store.append([k], [added])).toEqual([Status.Ok]);
          expect(await store.get([k])).toEqual([combined]);
        });
      }

      for (const [stored, added] of APPEND_MISMATCHED) {
        test(`${stored} + ${added} answers 41 and leaves the value untouched`, async () => {
          const k = key("append41");
          await store.set([k], [stored]);
          expect(await store.append([k], [added])).toEqual([Status.ValueTypeInvalid]);
          expect(await store.get([k])).toEqual([stored]);
        });
      }

      test("a missing key answers 22 and stays missing", async () => {
        const k = key("append22");
        expect(await store.append([k], ["[1]"])).toEqual([Status.KeyNotExist]);
        expect(await store.get([k])).toEqual([Status.KeyNotExist]);
      });

      test("a batch appends each key in order, the same key twice included", async () => {
        const a = key("appendA");
        const b = key("appendB");
        await store.set([a, b], ["[]", '"x"']);
        expect(await store.append([a, b, a], ["[1]", "[2]", "[3]"])).toEqual([
          Status.Ok,
          Status.ValueTypeInvalid,
          Status.Ok,
        ]);
        expect(await store.get([a, b])).toEqual(["[1,3]", '"x"']);
      });
    });

    test("count covers the whole store and clear empties it, answering how many it deleted", async () => {
      expect(await store.count()).toBe(0);
      const keys = Array.from({ length: 25 }, (_, i) => key(`count${i}`));
      await store.set(
        keys,
        keys.map(() => "1"),
      );
      expect(await store.count()).toBe(25);
      expect(await store.clear()).toBe(25);
      expect(await store.count()).toBe(0);
      expect(await store.get([keys[0] as string])).toEqual([Status.KeyNotExist]);
      expect(await store.clear()).toBe(0);
    });

    test("ready answers true while the store serves", async () => {
      expect(await store.ready()).toBe(true);
    });
  });
}
