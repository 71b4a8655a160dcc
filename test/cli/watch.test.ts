import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, JsonObject, type Kvfleet } from "kvfleet-client";
import { type Running, start } from "../support/cli.ts";
import { startNode, type TestNode } from "../support/node.ts";
import { freePort } from "../support/redis.ts";

let node: TestNode;
let db: Kvfleet;

beforeAll(async () => {
  node = startNode();
  db = await connect(node.url);
});
afterAll(async () => {
  await db.close();
  await node.stop();
});

const watching = (w: Running) => w.until(({ stderr }) => stderr.includes("kvfleet: watching"));

describe("kvfleet watch", () => {
  test("prints each change under its prefixes and keys until SIGINT, then exits 0", async () => {
    const env = { KVFLEET_URL: node.url };
    const text = start(["watch", "--prefix", "room:", "--key", "solo"], { env });
    const json = start(["--json", "watch", "--prefix=room:"], { env });
    await Promise.all([watching(text), watching(json)]);
    expect(text.stderr()).toBe(
      'kvfleet: watching prefix "room:", key "solo"; interrupt (Ctrl-C) to stop\n',
    );

    // 2^64 + 1 and an integer-like member after another: exact digits and order, as written.
    const value = new JsonObject([
      ["n", 18446744073709551617n],
      ["1", "one"],
    ]);
    await db.set("room:1", value);
    await db.append("room:1", { more: [1] });
    await db.set("elsewhere", 1);
    await db.set("solo", "Ada");
    await db.remove("room:1");
    await db.clear();
    const ended = ({ stdout }: { stdout: string }) => stdout.endsWith("clear\n");
    await text.until(ended);
    await json.until(({ stdout }) => stdout.endsWith('{"op":"clear"}\n'));

    expect(text.stdout()).toBe(
      [
        'set\troom:1\t{"n":18446744073709551617,"1":"one"}',
        'append\troom:1\t{"n":18446744073709551617,"1":"one","more":[1]}',
        'set\tsolo\t"Ada"',
        "rmv\troom:1",
        "clear",
        "",
      ].join("\n"),
    );
    expect(json.stdout()).toBe(
      [
        '{"op":"set","key":"room:1","value":{"n":18446744073709551617,"1":"one"}}',
        '{"op":"append","key":"room:1","value":{"n":18446744073709551617,"1":"one","more":[1]}}',
        '{"op":"rmv","key":"room:1"}',
        '{"op":"clear"}',
        "",
      ].join("\n"),
    );
    expect(await Promise.all([text.stop("SIGINT"), json.stop("SIGINT")])).toEqual([0, 0]);
    // A clean end: nothing on stderr beyond the note that the watch was live.
    expect(json.stderr()).toBe('kvfleet: watching prefix "room:"; interrupt (Ctrl-C) to stop\n');
  });

  test("an expiry prints expire", async () => {
    const w = start(["watch", "--key", "brief"], { env: { KVFLEET_URL: node.url } });
    try {
      await watching(w);
      await db.set("brief", true, { ttl: 50 });
      // The memory store reclaims an expired key within about a second.
      await w.until(({ stdout }) => stdout === "set\tbrief\ttrue\nexpire\tbrief\n");
      expect(await w.stop("SIGINT")).toBe(0);
    } finally {
      await w.stop("SIGKILL");
    }
  });

  test("lives through a restart of its server: prints reset, then the changes after it", async () => {
    const port = freePort();
    let first: TestNode | undefined = startNode([`--port=${port}`]);
    const w = start(["watch", "--key", "k"], { env: { KVFLEET_URL: first.url } });
    let second: TestNode | undefined;
    try {
      await watching(w);
      await first.stop();
      first = undefined;
      second = startNode([`--port=${port}`]);
      await w.until(({ stdout }) => stdout === "reset\n");
      const writer = await connect(second.url);
      await writer.set("k", 1);
      await writer.close();
      await w.until(({ stdout }) => stdout === "reset\nset\tk\t1\n");
      expect(await w.stop("SIGINT")).toBe(0);
    } finally {
      await w.stop("SIGKILL");
      await first?.stop();
      await second?.stop();
    }
  });
});
