import { type Backoff, delays } from "./backoff.ts";
import { Deadlines } from "./deadlines.ts";
import {
  ConnectError,
  ConnectionLostError,
  ended,
  KvfleetError,
  lost,
  timedOut,
} from "./errors.ts";
import { readJson } from "./json-read.ts";
import { openSocket, type SocketOptions, type WebSocketLike } from "./socket.ts";
import type { JsonValue } from "./values.ts";

/** A decoded frame: an answer or an event. */
export type Frame = { [member: string]: JsonValue };

export interface SessionOptions extends SocketOptions {
  url: string;
  requestTimeout: number;
  maxInFlight: number;
  bigints: "bigint" | "number";
  /** false: a lost connection is not opened again. */
  backoff: Backoff | false;
}

/** What the session tells its owner about the connection. */
export interface SessionHooks {
  /** A connection opened after a lost one; runs before the queued requests are sent. */
  reconnected(): void;
  /** Whether a lost connection should be opened again now, not at the next request (open watches). */
  needsConnection(): boolean;
  /** A frame with no request of its own (a change event). */
  event(frame: Frame): void;
  /** The session gave up: closed by the user, or reconnecting failed. */
  ended(error: KvfleetError): void;
  /**
   * A request is about to be queued, or the session closed: calls gathered
   * for a batch (batches.ts) must be sent first, so that nothing overtakes
   * them. Requests the batcher itself makes call it again; it has nothing then.
   */
  flush(): void;
}

/** What the client did so far, and what it holds now. */
export interface SessionStats {
  /** Connections opened after a lost one. */
  reconnects: number;
  /** Requests sent again after a 1001 close (a draining node did not run them). */
  resent: number;
  /** Requests sent and not answered yet. */
  inFlight: number;
  /** Requests waiting in the client to be sent. */
  queued: number;
  connected: boolean;
}

interface Call {
  readonly id: number;
  readonly command: string;
  readonly frame: string;
  readonly resolve: (answer: Frame) => void;
  readonly reject: (error: KvfleetError) => void;
  /** "done": answered, failed or timed out; an answer that still comes is dropped. */
  state: "queued" | "sent" | "done";
}

/**
 * One logical connection to kvfleet over a WebSocket that may be replaced:
 * requests with ids, at most `maxInFlight` of them sent, the rest queued;
 * answers matched by id. When a draining node closes with 1001 the requests
 * it did not answer were not executed (the protocol says so), so they are
 * sent again on the next connection; after any other close their outcome is
 * unknown, so they fail with ConnectionLostError and are never sent again.
 */
export class Session {
  readonly #options: SessionOptions;
  readonly #hooks: SessionHooks;
  #socket: WebSocketLike | undefined;
  #queue: Call[] = [];
  readonly #inFlight = new Map<number, Call>();
  #nextId = 1;
  #reconnecting = false;
  #ended: KvfleetError | undefined;
  #reconnects = 0;
  #resent = 0;
  /** Calls not done yet, to time out after `requestTimeout`. */
  readonly #deadlines: Deadlines<Call>;

  private constructor(options: SessionOptions, hooks: SessionHooks) {
    this.#options = options;
    this.#hooks = hooks;
    this.#deadlines = new Deadlines(options.requestTimeout, (call) => this.#timeout(call));
  }

  /** Opens the first connection; rejects with ConnectError if it cannot. */
  static async open(options: SessionOptions, hooks: SessionHooks): Promise<Session> {
    const session = new Session(options, hooks);
    session.#attach(await openSocket(options.url, options));
    return session;
  }

  /** Whether a connection is open now. */
  get connected(): boolean {
    return this.#socket !== undefined;
  }

  get protocol(): 1 | 2 {
    return this.#options.protocol;
  }

  get stats(): SessionStats {
    return {
      reconnects: this.#reconnects,
      resent: this.#resent,
      inFlight: [...this.#inFlight.values()].filter((call) => call.state === "sent").length,
      queued: this.#queue.length,
      connected: this.connected,
    };
  }

  /**
   * Sends `{"id":…,"<command>":<body>,<options>}` (body and options as JSON
   * text) and resolves with the answer's frame; a `KV_ERR` answer rejects
   * with its status. `first` puts it before the queued requests
   * (re-establishing watches).
   */
  /** Whether a request is sent and not answered yet. */
  get busy(): boolean {
    return this.#inFlight.size > 0;
  }

  request(command: string, body: string, options = "", first = false): Promise<Frame> {
    this.#hooks.flush();
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    const id = this.#nextId++;
    // Protocol 1 has no ids: its answers are matched by order alone.
    const frame =
      this.#options.protocol === 2
        ? `{"id":${id},"${command}":${body}${options}}`
        : `{"${command}":${body}}`;
    return new Promise<Frame>((resolve, reject) => {
      const call: Call = { id, command, frame, resolve, reject, state: "queued" };
      this.#deadlines.add(call);
      if (first) this.#queue.unshift(call);
      else this.#queue.push(call);
      // No connection: lost while idle, so open one now, without the first delay.
      if (this.#socket === undefined) this.#reconnect(true);
      else this.#pump();
    });
  }

  /** Closes the connection for good; queued and unanswered requests fail. */
  close(): void {
    this.#hooks.flush();
    this.#end(new KvfleetError(0, "the client was closed"));
  }

  #attach(socket: WebSocketLike): void {
    this.#socket = socket;
    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") this.#receive(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (this.#socket === socket) this.#lost(event.code);
    });
  }

  #pump(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    while (this.#inFlight.size < this.#options.maxInFlight) {
      const call = this.#queue.shift();
      if (call === undefined) return;
      call.state = "sent";
      this.#inFlight.set(call.id, call);
      socket.send(call.frame);
    }
  }

  #receive(text: string): void {
    let frame: Frame;
    try {
      frame = readJson(text, this.#options) as Frame;
    } catch {
      return; // Not from a kvfleet server; nothing to match it to.
    }
    if ("KV_EVENT" in frame) {
      this.#hooks.event(frame);
      return;
    }
    // An answer without an id (a request the server could not read) is the oldest one's: answers keep order.
    const id = typeof frame.id === "number" ? frame.id : this.#inFlight.keys().next().value;
    const call = id === undefined ? undefined : this.#inFlight.get(id);
    if (call === undefined) return;
    this.#inFlight.delete(call.id);
    if (call.state === "sent") this.#settle(call, frame);
    this.#pump();
  }

  #settle(call: Call, frame: Frame): void {
    this.#finish(call);
    const error = frame.KV_ERR as { st?: unknown; m?: unknown } | undefined;
    if (error === undefined) {
      call.resolve(frame);
    } else {
      const status = typeof error.st === "number" ? error.st : 0;
      call.reject(KvfleetError.answered(call.command, status, String(error.m ?? "")));
    }
  }

  /** Marks a call done: it no longer times out, and an answer that still comes is dropped. */
  #finish(call: Call): void {
    call.state = "done";
    this.#deadlines.delete(call);
  }

  #timeout(call: Call): void {
    const sent = call.state === "sent";
    if (!sent) this.#queue = this.#queue.filter((c) => c !== call);
    this.#finish(call);
    call.reject(timedOut(call.command, this.#options.requestTimeout, sent));
  }

  #lost(code: number): void {
    this.#socket = undefined;
    const unanswered = [...this.#inFlight.values()].filter((call) => call.state === "sent");
    this.#inFlight.clear();
    if (code === 1001) {
      // Not executed by the draining node: send them again, in their order, first
      // (or, without reconnects, fail them as not run).
      for (const call of unanswered) call.state = "queued";
      this.#queue.unshift(...unanswered);
      this.#resent += unanswered.length;
    } else {
      for (const call of unanswered) {
        this.#finish(call);
        call.reject(lost(call.command, code));
      }
    }
    if (this.#options.backoff === false) {
      this.#end(new ConnectionLostError(`the connection closed (${code})`, "not-run", code));
    } else if (this.#queue.length > 0 || this.#hooks.needsConnection()) {
      this.#reconnect();
    }
  }

  async #reconnect(now = false): Promise<void> {
    if (this.#reconnecting || this.#ended !== undefined) return;
    const backoff = this.#options.backoff;
    if (backoff === false) return;
    this.#reconnecting = true;
    let last: unknown;
    let first = true;
    for (const delay of delays(backoff)) {
      if (!(now && first)) await new Promise((resolve) => setTimeout(resolve, delay));
      first = false;
      if (this.#ended !== undefined) return;
      try {
        const socket = await openSocket(this.#options.url, this.#options);
        if (this.#ended !== undefined) {
          socket.close();
          return;
        }
        this.#reconnecting = false;
        this.#reconnects++;
        this.#attach(socket);
        this.#hooks.reconnected();
        this.#pump();
        return;
      } catch (err) {
        last = err;
      }
    }
    this.#reconnecting = false;
    const why = last instanceof Error ? last.message : String(last);
    this.#end(
      new ConnectError(0, `gave up reconnecting after ${backoff.attempts} attempts: ${why}`),
    );
  }

  #end(error: KvfleetError): void {
    if (this.#ended !== undefined) return;
    this.#ended = error;
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close(1000, "client closed");
    const calls = [...this.#inFlight.values(), ...this.#queue];
    this.#inFlight.clear();
    this.#queue = [];
    this.#deadlines.clear();
    for (const call of calls) {
      if (call.state === "done") continue;
      const sent = call.state === "sent";
      this.#finish(call);
      call.reject(ended(call.command, error, sent));
    }
    this.#hooks.ended(error);
  }
}
