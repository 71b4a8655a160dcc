import type { Reply } from "./handler.ts";

/** The part of a server-side WebSocket a connection needs; plain objects stand in for it in tests. */
export interface ClientSocket {
  send(text: string): number;
  close(code?: number, reason?: string): void;
  getBufferedAmount(): number;
  cork<T>(callback: () => T): T;
}

/** Close code when the client reads too slowly for its backlog (policy violation). */
export const CLOSE_BACKLOG = 1008;

export interface ConnectionLimits {
  /** Bytes one connection may hold: requests not yet answered, replies not yet written, the socket's buffer. */
  readonly maxBacklog: number;
  /** Requests one connection may have at the store at once; later ones wait unexecuted. */
  readonly maxInFlight: number;
}

/** Runs one request: its reply, now or later. Never throws. */
export type Handler<M> = (message: M) => Reply;

const DROPPED = 0;
const BUFFERED = 1;
const WRITTEN = 2;
type Outcome = typeof DROPPED | typeof BUFFERED | typeof WRITTEN;

/** send() answers 0 when it dropped the message, -1 when it had to buffer it, else bytes written. */
const outcome = (sent: number): Outcome => (sent > 0 ? WRITTEN : sent < 0 ? BUFFERED : DROPPED);

/** Bytes of a reply held in memory until written; UTF-8, as it will go out. */
function replyBytes(texts: readonly string[]): number {
  let bytes = 0;
  for (const text of texts) bytes += Buffer.byteLength(text);
  return bytes;
}

/** A request executed and not yet answered; `texts` is null while the store works on it. */
interface Slot {
  texts: string[] | null;
  /** Bytes it holds: its request's while pending, its reply's once ready. */
  bytes: number;
  /** An event waiting behind replies, not the answer to a request. */
  event?: true;
}

/** A request received while the connection's window at the store was full. */
interface Queued<M> {
  message: M;
  bytes: number;
}

/**
 * One client's requests and replies. Requests run in the order received, at
 * most `maxInFlight` at the store at once; replies go out in request order,
 * even when a later request's store call finishes first. Everything the
 * connection holds (requests waiting, replies ready behind a pending one,
 * the socket's buffer) is bounded by `maxBacklog` bytes; past it the
 * connection is closed with 1008 rather than replies dropped or memory grown.
 *
 * `stop()` (a drain) ends execution at once: queued requests are dropped
 * unexecuted, executed ones are still answered, so a client can tell from
 * the replies which requests ran.
 */
export class Connection<M> {
  readonly #socket: ClientSocket;
  readonly #limits: ConnectionLimits;
  readonly #handle: Handler<M>;
  readonly #sizeOf: (message: M) => number;
  #slots: Slot[] = [];
  #head = 0;
  #queued: Queued<M>[] = [];
  #queuedHead = 0;
  #inFlight = 0;
  /** Bytes held by queued requests and slots (the socket's buffer is asked for separately). */
  #held = 0;
  #stopped = false;
  #closed = false;
  /** Slots that hold events, not answers. */
  #events = 0;
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

  /** `sizeOf` is only asked for requests that wait, so a memory store never pays for it. */
  constructor(
    socket: ClientSocket,
    limits: ConnectionLimits,
    handle: Handler<M>,
    sizeOf: (message: M) => number,
  ) {
    this.#socket = socket;
    this.#limits = limits;
    this.#handle = handle;
    this.#sizeOf = sizeOf;
  }

  /** Runs a request now, or queues it behind the full window; ignored once stopped. */
  receive(message: M): void {
    if (this.#stopped) return;
    if (this.#queuedHead < this.#queued.length || this.#inFlight >= this.#limits.maxInFlight) {
      const bytes = this.#sizeOf(message);
      this.#queued.push({ message, bytes });
      this.#held += bytes;
      this.#overLimit();
      return;
    }
    this.#run(message, -1);
  }

  /** Executes nothing more: queued requests are dropped unexecuted; executed ones are still answered. */
  stop(): void {
    this.#stopped = true;
    this.#dropQueued();
  }

  /** Stops sending: the socket is gone. */
  closed(): void {
    this.#closed = true;
    this.#stopped = true;
    this.#dropQueued();
    this.#slots = [];
    this.#head = 0;
    this.#held = 0;
    this.#events = 0;
    this.#wakeIdle();
  }

  /** Resolves once every request executed so far has had its reply sent (or the socket is gone). */
  whenIdle(): Promise<void> {
    if (this.#closed || this.unanswered === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Sends a text that answers no request (a watch's event) after the replies
   * already due, so that an event never overtakes the answer that opened its
   * watch. It counts toward the backlog like a reply.
   */
  push(text: string): void {
    if (this.#closed) return;
    if (this.#head === this.#slots.length) {
      this.#send([text]);
      return;
    }
    this.#events++;
    this.#hold({ texts: [text], bytes: Buffer.byteLength(text), event: true });
  }

  /** Requests executed whose replies have not been sent yet. */
  get unanswered(): number {
    return this.#slots.length - this.#head - this.#events;
  }

  /** Requests received and not executed yet. */
  get queued(): number {
    return this.#queued.length - this.#queuedHead;
  }

  /** `bytes` is the request's size when already known, else -1. */
  #run(message: M, bytes: number): void {
    const reply = this.#handle(message);
    if (this.#closed) return;
    if (!(reply instanceof Promise)) {
      if (this.#head === this.#slots.length) this.#send(reply);
      else this.#hold({ texts: reply, bytes: replyBytes(reply) });
      return;
    }
    const slot: Slot = { texts: null, bytes: bytes < 0 ? this.#sizeOf(message) : bytes };
    this.#inFlight++;
    if (this.#hold(slot)) return;
    reply.then((texts) => {
      if (this.#closed) return;
      this.#inFlight--;
      slot.texts = texts;
      this.#held -= slot.bytes;
      if (this.#flushQueued) {
        this.#holdReady(slot, texts);
        return;
      }
      // A lone reply (a client waiting for each answer) has nothing to batch with.
      if (this.#slots.length - this.#head === 1 && this.queued === 0) {
        slot.bytes = 0;
        this.#send(texts);
        this.#shift();
        return;
      }
      this.#holdReady(slot, texts);
      this.#flushQueued = true;
      queueMicrotask(this.#flushSoon);
    });
  }

  /** Queues a slot behind unanswered ones; true when that closed the connection. */
  #hold(slot: Slot): boolean {
    this.#slots.push(slot);
    this.#held += slot.bytes;
    return this.#overLimit();
  }

  /** A reply ready behind a pending one holds its own bytes until written. */
  #holdReady(slot: Slot, texts: string[]): void {
    slot.bytes = replyBytes(texts);
    this.#held += slot.bytes;
    this.#overLimit();
  }

  /** Runs queued requests while the window has room. */
  #pump(): void {
    const queued = this.#queued;
    while (
      !this.#closed &&
      !this.#stopped &&
      this.#queuedHead < queued.length &&
      this.#inFlight < this.#limits.maxInFlight
    ) {
      const next = queued[this.#queuedHead++] as Queued<M>;
      this.#held -= next.bytes;
      this.#run(next.message, next.bytes);
    }
    if (this.#queuedHead === queued.length && queued.length > 0) {
      this.#queued = [];
      this.#queuedHead = 0;
    }
  }

  #dropQueued(): void {
    for (let i = this.#queuedHead; i < this.#queued.length; i++) {
      this.#held -= (this.#queued[i] as Queued<M>).bytes;
    }
    this.#queued = [];
    this.#queuedHead = 0;
  }

  #flush(): void {
    if (this.#closed) return;
    const slots = this.#slots;
    const socket = this.#socket;
    let worst: Outcome = WRITTEN;
    socket.cork(() => {
      // Requests freed from the queue run inside the cork, so their synchronous replies join it.
      this.#pump();
      while (!this.#closed && this.#head < slots.length) {
        const slot = slots[this.#head] as Slot;
        if (slot.texts === null) break;
        this.#head++;
        this.#held -= slot.bytes;
        if (slot.event) this.#events--;
        worst = Math.min(worst, this.#write(slot.texts)) as Outcome;
      }
    });
    if (this.#closed) return;
    if (this.#head === slots.length) this.#drained();
    this.#sent(worst);
  }

  #shift(): void {
    this.#head++;
    if (this.#head === this.#slots.length) this.#drained();
  }

  #drained(): void {
    this.#slots = [];
    this.#head = 0;
    if (this.#idle.length > 0) this.#wakeIdle();
  }

  /** A reply with nothing ahead of it. */
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
    // Only a buffered send can have grown the socket's buffer; skip the native call otherwise.
    else if (worst === BUFFERED) this.#overLimit();
  }

  #overLimit(): boolean {
    if (this.#closed) return true;
    if (this.#held + this.#socket.getBufferedAmount() <= this.#limits.maxBacklog) return false;
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
