import type { Socket } from "bun";
import { backoff } from "./redis-client.ts";
import { CommandBuffer, type Reply, RespError, RespParser } from "./resp.ts";

export interface RespOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
  readonly db: number;
  /** Commands every new connection runs before it is ready (the scripts' SCRIPT LOAD). */
  readonly setup: readonly (readonly (string | number)[])[];
  /** Called each time a connection becomes ready. */
  readonly onReady: () => void;
  readonly onError?: (err: Error) => void;
}

interface Waiter {
  readonly resolve: (reply: Reply) => void;
  readonly reject: (err: Error) => void;
  /** A pipeline's replies so far, error replies in place, and how many it waits for. */
  readonly batch?: Reply[];
  readonly count?: number;
}

/**
 * One connection to one Redis for the store's per-key commands, on Bun's own
 * sockets. ioredis costs about 25-50 µs of CPU per command in Bun (its
 * command objects, argument conversion and parser on top of `node:net`),
 * twice a raw round trip; `bench/notes.md` has the figures. ioredis still
 * serves everything else (Cluster topology, SCAN, the subscriber).
 *
 * Commands are only taken while ready, and a connection that drops fails
 * every command in flight at once and is never resent: a write is either
 * answered or its caller answers 100. Replies arrive in the order commands
 * were written, so a command's reply means every command before it ran.
 * Commands written in one turn of the event loop leave in one write.
 */
export class RespConnection {
  readonly #options: RespOptions;
  readonly #parser = new RespParser();
  #socket: Socket | null = null;
  #ready = false;
  #closed = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Waiters of the commands in flight, oldest first from `#head`. */
  #waiters: Waiter[] = [];
  #head = 0;
  /** Commands written this turn, sent at its end. */
  readonly #out = new CommandBuffer();
  /** Bytes the socket did not take yet, sent on `drain`. */
  #backlog: Buffer | null = null;
  readonly #flush = () => this.#send();
  readonly #onReply = (reply: Reply) => this.#settle(reply);

  constructor(options: RespOptions) {
    this.#options = options;
    this.#connect();
  }

  get ready(): boolean {
    return this.#ready;
  }

  /**
   * Runs one command, `head` then `tail`; rejects at once when not ready,
   * and when the connection drops.
   */
  send(head: readonly (string | number)[], tail?: readonly (string | number)[]): Promise<Reply> {
    if (!this.#ready) return Promise.reject(new Error("Redis connection is not ready"));
    return this.#command(head, tail);
  }

  /**
   * Runs several commands in a row, answering all their replies at once, an
   * error reply in its command's place; rejects as `send` does.
   */
  pipeline(commands: readonly (readonly (string | number)[])[]): Promise<Reply[]> {
    if (!this.#ready) return Promise.reject(new Error("Redis connection is not ready"));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: resolve as Waiter["resolve"],
        reject,
        batch: [],
        count: commands.length,
      };
      this.#waiters.push(waiter);
      if (this.#out.text === "") queueMicrotask(this.#flush);
      for (const command of commands) this.#out.add(command);
    });
  }

  /** Closes for good; commands in flight fail. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#socket?.end();
    this.#dropped(new Error("Redis connection closed"));
  }

  #command(
    head: readonly (string | number)[],
    tail?: readonly (string | number)[],
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (this.#out.text === "") queueMicrotask(this.#flush);
      this.#out.add(head, tail);
    });
  }

  #send(): void {
    const { text, bytes } = this.#out.take();
    const socket = this.#socket;
    if (text === "" || socket === null) return;
    if (this.#backlog !== null) {
      this.#backlog = Buffer.concat([this.#backlog, Buffer.from(text)]);
      return;
    }
    const written = socket.write(text);
    if (written < bytes) {
      this.#backlog = Buffer.from(text).subarray(Math.max(written, 0));
    }
  }

  #drain(socket: Socket): void {
    const backlog = this.#backlog;
    if (backlog === null) return;
    const written = socket.write(backlog);
    this.#backlog = written < backlog.length ? backlog.subarray(Math.max(written, 0)) : null;
  }

  #settle(reply: Reply): void {
    const waiter = this.#waiters[this.#head];
    if (waiter === undefined) return;
    const batch = waiter.batch;
    if (batch !== undefined) {
      batch.push(reply);
      if (batch.length < (waiter.count as number)) return;
    }
    this.#waiters[this.#head++] = undefined as unknown as Waiter;
    if (this.#head === this.#waiters.length) {
      this.#waiters = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#head);
      this.#head = 0;
    }
    if (batch !== undefined) waiter.resolve(batch);
    else if (reply instanceof RespError) waiter.reject(reply);
    else waiter.resolve(reply);
  }

  #connect(): void {
    const { host, port, tls } = this.#options;
    void Bun.connect({
      hostname: host,
      port,
      tls,
      socket: {
        open: (socket) => {
          this.#socket = socket;
          socket.setNoDelay(true);
          void this.#handshake(socket);
        },
        data: (_socket, chunk) => {
          try {
            this.#parser.feed(chunk, this.#onReply);
          } catch (err) {
            this.#fail(err as Error);
          }
        },
        drain: (socket) => this.#drain(socket),
        // Events of a socket already given up (after #fail or close) are old news.
        close: (socket) => {
          if (socket === this.#socket) this.#lost(new Error("Redis connection closed"));
        },
        error: (socket, err) => {
          if (socket === this.#socket) this.#fail(err);
        },
        connectError: (_socket, err) => this.#lost(err),
      },
    }).catch(() => {
      // Reported through connectError, which schedules the next attempt.
    });
  }

  /** AUTH, SELECT and the setup commands, then ready; a refusal closes and retries. */
  async #handshake(socket: Socket): Promise<void> {
    const { username, password, db, setup } = this.#options;
    const steps: (readonly (string | number)[])[] = [];
    if (password !== undefined) {
      steps.push(username !== undefined ? ["AUTH", username, password] : ["AUTH", password]);
    }
    if (db !== 0) steps.push(["SELECT", db]);
    steps.push(...setup);
    try {
      await Promise.all(steps.map((args) => this.#command(args)));
    } catch (err) {
      if (this.#socket === socket) this.#fail(err as Error);
      return;
    }
    if (this.#socket !== socket) return;
    this.#attempt = 0;
    this.#ready = true;
    this.#options.onReady();
  }

  #fail(err: Error): void {
    this.#options.onError?.(err);
    this.#socket?.end();
    this.#lost(err);
  }

  #lost(err: Error): void {
    this.#dropped(err);
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#connect();
      },
      backoff(++this.#attempt),
    );
  }

  /** Forgets the socket and fails what was in flight on it. */
  #dropped(err: Error): void {
    this.#ready = false;
    this.#socket = null;
    this.#out.take();
    this.#backlog = null;
    this.#parser.reset();
    const waiters = this.#waiters.slice(this.#head);
    this.#waiters = [];
    this.#head = 0;
    for (const waiter of waiters) waiter.reject(err);
  }
}
