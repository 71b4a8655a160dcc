import { describe, expect, test } from "bun:test";
import { CLOSE_BACKLOG, type ClientSocket, Connection } from "../../src/server/connection.ts";
import type { Reply } from "../../src/server/handler.ts";

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

/** A request as the fake handler sees it: its reply, and its size in bytes. */
interface Request {
  reply: Reply;
  size: number;
}

/** A connection whose handler answers each request's own reply and records the order it ran. */
function connect(socket: FakeSocket, maxBacklog: number, maxInFlight = 1000) {
  const ran: Request[] = [];
  const connection = new Connection<Request>(
    socket,
    { maxBacklog, maxInFlight },
    (request) => {
      ran.push(request);
      return request.reply;
    },
    (request) => request.size,
  );
  const send = (reply: Reply, size = 10): Request => {
    const request = { reply, size };
    connection.receive(request);
    return request;
  };
  return { connection, send, ran };
}

describe("Connection", () => {
  test("synchronous replies go out at once, in order", () => {
    const socket = new FakeSocket();
    const { connection, send } = connect(socket, 1024);
    send(["a1", "a2"]);
    send(["b"]);
    expect(socket.sent).toEqual(["a1", "a2", "b"]);
    expect(connection.unanswered).toBe(0);
  });

  test("replies resolving out of order are sent in request order", async () => {
    const socket = new FakeSocket();
    const { connection, send } = connect(socket, 1024);
    const first = deferred();
    const second = deferred();
    send(first.promise);
    send(second.promise);
    send(["sync"]);
    second.resolve(["second"]);
    await settle();
    expect(socket.sent).toEqual([]);
    expect(connection.unanswered).toBe(3);
    first.resolve(["first"]);
    await settle();
    expect(socket.sent).toEqual(["first", "second", "sync"]);
    expect(connection.unanswered).toBe(0);
  });

  test("replies that resolve together are written in one cork", async () => {
    const socket = new FakeSocket();
    const { send } = connect(socket, 1 << 20);
    const replies = Array.from({ length: 32 }, () => deferred());
    for (const r of replies) send(r.promise);
    for (const [i, r] of replies.entries()) r.resolve([`r${i}`]);
    await settle();
    expect(socket.corks).toEqual([replies.map((_, i) => `r${i}`)]);
  });

  test("whenIdle resolves once every reply is sent", async () => {
    const socket = new FakeSocket();
    const { connection, send } = connect(socket, 1024);
    const pending = deferred();
    send(pending.promise);
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
    const { send } = connect(socket, 100);
    send(deferred().promise, 60);
    expect(socket.closedWith).toBeUndefined();
    send(deferred().promise, 60);
    expect(socket.closedWith).toBe(CLOSE_BACKLOG);
  });

  test("replies ready behind a pending one count at their own bytes", async () => {
    const socket = new FakeSocket();
    const { send } = connect(socket, 1000);
    const head = deferred();
    send(head.promise, 10);
    const behind = Array.from({ length: 3 }, () => deferred());
    for (const r of behind) send(r.promise, 10);
    for (const r of behind.slice(0, 2)) r.resolve(["x".repeat(400)]);
    await settle();
    expect(socket.closedWith).toBeUndefined();
    // 10 + 400 + 400 + 10 held; a third 400-byte reply passes 1000.
    (behind[2] as ReturnType<typeof deferred>).resolve(["x".repeat(400)]);
    await settle();
    expect(socket.closedWith).toBe(CLOSE_BACKLOG);
    expect(socket.sent).toEqual([]);
  });

  test("a synchronous reply behind a pending one counts at its UTF-8 bytes", () => {
    const socket = new FakeSocket();
    const { send } = connect(socket, 1000);
    send(deferred().promise, 10);
    send(["\u00e9".repeat(400)], 1);
    expect(socket.closedWith).toBeUndefined();
    // 400 two-byte characters: 800 bytes, not 400.
    send(["\u00e9".repeat(100)], 1);
    expect(socket.closedWith).toBe(CLOSE_BACKLOG);
  });

  test("a buffered send over the backlog closes with 1008; a written one is not checked", () => {
    const socket = new FakeSocket();
    const { send } = connect(socket, 100);
    socket.buffered = 500;
    send(["written"], 0);
    expect(socket.closedWith).toBeUndefined();
    socket.answer = -1;
    send(["buffered"], 0);
    expect(socket.closedWith).toBe(CLOSE_BACKLOG);
    send(["after close"], 0);
    expect(socket.sent).toEqual(["written", "buffered"]);
  });

  test("a dropped send closes the connection rather than lose a reply silently", () => {
    const socket = new FakeSocket();
    const { send } = connect(socket, 100);
    socket.answer = 0;
    send(["dropped"], 0);
    expect(socket.closedWith).toBe(CLOSE_BACKLOG);
  });

  test("at most maxInFlight requests reach the store; the rest run in order as room frees", async () => {
    const socket = new FakeSocket();
    const { connection, send, ran } = connect(socket, 1 << 20, 2);
    const replies = Array.from({ length: 5 }, () => deferred());
    const requests = replies.map((r) => send(r.promise));
    const sync = send(["sync"]);
    expect(ran).toEqual(requests.slice(0, 2));
    expect(connection.queued).toBe(4);
    (replies[0] as ReturnType<typeof deferred>).resolve(["r0"]);
    await settle();
    expect(ran).toEqual(requests.slice(0, 3));
    expect(socket.sent).toEqual(["r0"]);
    for (const [i, r] of replies.entries()) r.resolve([`r${i}`]);
    await settle();
    await settle();
    expect(ran).toEqual([...requests, sync]);
    expect(socket.sent).toEqual(["r0", "r1", "r2", "r3", "r4", "sync"]);
    expect(connection.queued).toBe(0);
  });

  test("requests queued behind the window count at their request bytes", () => {
    const socket = new FakeSocket();
    const { send } = connect(socket, 100, 1);
    send(deferred().promise, 10);
    send(["queued"], 80);
    expect(socket.closedWith).toBeUndefined();
    send(["queued"], 20);
    expect(socket.closedWith).toBe(CLOSE_BACKLOG);
  });

  test("stop() drops queued requests unexecuted and still answers the executed ones", async () => {
    const socket = new FakeSocket();
    const { connection, send, ran } = connect(socket, 1 << 20, 2);
    const replies = Array.from({ length: 4 }, () => deferred());
    const requests = replies.map((r) => send(r.promise));
    connection.stop();
    send(["after stop"]);
    expect(connection.queued).toBe(0);
    expect(connection.unanswered).toBe(2);
    const idle = connection.whenIdle();
    for (const [i, r] of replies.entries()) r.resolve([`r${i}`]);
    await idle;
    expect(ran).toEqual(requests.slice(0, 2));
    expect(socket.sent).toEqual(["r0", "r1"]);
    expect(connection.unanswered).toBe(0);
  });
});
