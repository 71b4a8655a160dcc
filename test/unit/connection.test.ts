import { describe, expect, test } from "bun:test";
import { CLOSE_BACKLOG, type ClientSocket, Connection } from "../../src/server/connection.ts";

/** A socket that records what was sent, in which cork, and how it was closed. */
class FakeSocket implements ClientSocket {
  sent: string[] = [];
  /** The sends of each cork() call. */
  corks: string[][] = [];
  closedWith: number | undefined;
  buffered = 0;
  /** What send() answers: bytes written, -1 buffered, 0 dropped. */
  answer = 1;
  #cork: string[] | null = null;

  send(text: string): number {
    this.sent.push(text);
    this.#cork?.push(text);
    return this.answer;
  }
  close(code?: number): void {
    this.closedWith = code;
  }
  getBufferedAmount(): number {
    return this.buffered;
  }
  cork<T>(callback: () => T): T {
    this.#cork = [];
    try {
      return callback();
    } finally {
      this.corks.push(this.#cork);
      this.#cork = null;
    }
  }
}

function deferred(): { promise: Promise<string[]>; resolve: (texts: string[]) => void } {
  let resolve!: (texts: string[]) => void;
  const promise = new Promise<string[]>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets every promise callback and queued microtask run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("Connection", () => {
  test("synchronous replies go out at once, in order", () => {
    const socket = new FakeSocket();
    const connection = new Connection(socket, 1024);
    connection.reply(["a1", "a2"], 10);
    connection.reply(["b"], 10);
    expect(socket.sent).toEqual(["a1", "a2", "b"]);
    expect(connection.waiting).toBe(0);
  });

  test("replies resolving out of order are sent in request order", async () => {
    const socket = new FakeSocket();
    const connection = new Connection(socket, 1024);
    const first = deferred();
    const second = deferred();
    connection.reply(first.promise, 10);
    connection.reply(second.promise, 10);
    connection.reply(["sync"], 10);
    second.resolve(["second"]);
    await settle();
    expect(socket.sent).toEqual([]);
    expect(connection.waiting).toBe(3);
    first.resolve(["first"]);
    await settle();
    expect(socket.sent).toEqual(["first", "second", "sync"]);
    expect(connection.waiting).toBe(0);
  });

  test("replies that resolve together are written in one cork", async () => {
    const socket = new FakeSocket();
    const connection = new Connection(socket, 1 << 20);
    const replies = Array.from({ length: 32 }, () => deferred());
    for (const r of replies) connection.reply(r.promise, 10);
    for (const [i, r] of replies.entries()) r.resolve([`r${i}`]);
    await settle();
    expect(socket.corks).toEqual([replies.map((_, i) => `r${i}`)]);
  });

  test("whenIdle resolves once every reply is sent", async () => {
    const socket = new FakeSocket();
    const connection = new Connection(socket, 1024);
    const pending = deferred();
    connection.reply(pending.promise, 10);
    let idle = false;
    const done = connection.whenIdle().then(() => {
      idle = true;
    });
    await settle();
    expect(idle).toBe(false);
    pending.resolve(["x"]);
    await done;
    expect(socket.sent).toEqual(["x"]);
  });

  test("requests waiting for the store beyond the backlog close with 1008", () => {
    const socket = new FakeSocket();
    const connection = new Connection(socket, 100);
    connection.reply(deferred().promise, 60);
    expect(socket.closedWith).toBeUndefined();
    connection.reply(deferred().promise, 60);
    expect(socket.closedWith).toBe(CLOSE_BACKLOG);
  });

  test("a buffered send over the backlog closes with 1008; a written one is not checked", () => {
    const socket = new FakeSocket();
    const connection = new Connection(socket, 100);
    socket.buffered = 500;
    connection.reply(["written"], 0);
    expect(socket.closedWith).toBeUndefined();
    socket.answer = -1;
    connection.reply(["buffered"], 0);
    expect(socket.closedWith).toBe(CLOSE_BACKLOG);
    connection.reply(["after close"], 0);
    expect(socket.sent).toEqual(["written", "buffered"]);
  });

  test("a dropped send closes the connection rather than lose a reply silently", () => {
    const socket = new FakeSocket();
    const connection = new Connection(socket, 100);
    socket.answer = 0;
    connection.reply(["dropped"], 0);
    expect(socket.closedWith).toBe(CLOSE_BACKLOG);
  });
});
