import type { Reply } from "./execute.ts";

/** The part of a server-side WebSocket a connection needs; plain objects stand in for it in tests. */
export interface ClientSocket {
  send(text: string): number;
  close(code?: number, reason?: string): void;
  getBufferedAmount(): number;
  cork<T>(callback: () => T): T;
}

/** Close code when the client reads too slowly for its backlog (policy violation). */
export const CLOSE_BACKLOG = 1008;

const DROPPED = 0;
const BUFFERED = 1;
const WRITTEN = 2;
type Outcome = typeof DROPPED | typeof BUFFERED | typeof WRITTEN;

/** send() answers 0 when it dropped the message, -1 when it had to buffer it, else bytes written. */
const outcome = (sent: number): Outcome => (sent > 0 ? WRITTEN : sent < 0 ? BUFFERED : DROPPED);

interface Pending {
  texts: string[] | null;
  /** Bytes of the request held until the reply is sent. */
  size: number;
}

/**
 * Sends the replies of one client in request order, even when some come from
 * the store later than replies to later requests. What waits here, and what
 * the socket still buffers, is bounded by `maxBacklog` bytes; past it the
 * connection is closed rather than answers dropped or memory grown.
 */
export class Connection {
  readonly #socket: ClientSocket;
  readonly #maxBacklog: number;
  #queue: Pending[] = [];
  #head = 0;
  #pendingBytes = 0;
  #closed = false;
  #idle: (() => void)[] = [];
  #flushQueued = false;
  /**
   * Replies from the store resolve one after another within one microtask
   * checkpoint (a Redis pipeline answers many at once); flushing after the
   * last of them sends them all in one corked write instead of one each.
   */
  readonly #flushSoon = () => {
    this.#flushQueued = false;
    this.#flush();
  };

  constructor(socket: ClientSocket, maxBacklog: number) {
    this.#socket = socket;
    this.#maxBacklog = maxBacklog;
  }

  /** Queues the reply to a request of `size` bytes. */
  reply(reply: Reply, size: number): void {
    if (this.#closed) return;
    if (!(reply instanceof Promise)) {
      if (this.#head === this.#queue.length) this.#send(reply);
      else this.#queue.push({ texts: reply, size: 0 });
      return;
    }
    const pending: Pending = { texts: null, size };
    this.#queue.push(pending);
    this.#pendingBytes += size;
    if (this.#overLimit()) return;
    reply.then((texts) => {
      if (this.#closed) return;
      pending.texts = texts;
      this.#pendingBytes -= size;
      if (this.#flushQueued) return;
      // A lone reply (a client waiting for each answer) has nothing to batch with.
      if (this.#queue.length - this.#head === 1) {
        this.#send(texts);
        this.#shift();
        return;
      }
      this.#flushQueued = true;
      queueMicrotask(this.#flushSoon);
    });
  }

  /** Stops sending: the socket is gone. */
  closed(): void {
    this.#closed = true;
    this.#queue = [];
    this.#head = 0;
    this.#wakeIdle();
  }

  /** Resolves once every request received so far has had its reply sent (or the socket is gone). */
  whenIdle(): Promise<void> {
    if (this.#closed || this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Requests whose replies have not been sent yet. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  #flush(): void {
    if (this.#closed) return;
    const queue = this.#queue;
    const socket = this.#socket;
    let worst: Outcome = WRITTEN;
    socket.cork(() => {
      while (this.#head < queue.length) {
        const texts = (queue[this.#head] as Pending).texts;
        if (texts === null) break;
        this.#head++;
        worst = Math.min(worst, this.#write(texts)) as Outcome;
      }
    });
    if (this.#head === queue.length) this.#drained();
    this.#sent(worst);
  }

  #shift(): void {
    this.#head++;
    if (this.#head === this.#queue.length) this.#drained();
  }

  #drained(): void {
    this.#queue = [];
    this.#head = 0;
    if (this.#idle.length > 0) this.#wakeIdle();
  }

  /** A reply ready in the message handler, where the socket is already corked. */
  #send(texts: string[]): void {
    if (texts.length === 0 || this.#closed) return;
    this.#sent(this.#write(texts));
  }

  /** Sends the texts of one reply; the worst outcome among them. */
  #write(texts: string[]): Outcome {
    let worst: Outcome = WRITTEN;
    for (const text of texts) worst = Math.min(worst, outcome(this.#socket.send(text))) as Outcome;
    return worst;
  }

  #sent(worst: Outcome): void {
    if (worst === DROPPED) this.#close();
    // Only a buffered send can have grown the backlog; skip the native call otherwise.
    else if (worst === BUFFERED) this.#overLimit();
  }

  #overLimit(): boolean {
    if (this.#pendingBytes + this.#socket.getBufferedAmount() <= this.#maxBacklog) return false;
    this.#close();
    return true;
  }

  #wakeIdle(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const wake of idle) wake();
  }

  #close(): void {
    this.#socket.close(CLOSE_BACKLOG, "backlog limit exceeded");
    this.closed();
  }
}
