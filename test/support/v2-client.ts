/** The subprotocol a client offers to speak protocol version 2. */
export const V2 = "kvfleet.v2";

/** One frame as received: its text, parsed, and its place among the connection's frames. */
export interface Frame {
  readonly text: string;
  readonly json: Record<string, unknown>;
  readonly index: number;
}

/** A `KV_EVENT` frame, its members read out (`v` stays the raw text's business). */
export interface EventFrame extends Frame {
  readonly w: number;
  readonly op: string;
  readonly k?: string;
}

const OPS_WITH_KEY = new Set(["set", "append", "rmv", "expire"]);
const OPS_WITH_VALUE = new Set(["set", "append"]);

/**
 * A protocol version 2 client for tests: it offers `kvfleet.v2`, sends each
 * request with an id of its own and collects every frame, answers by id and
 * change events by watch, so that a test awaits what it expects by predicate
 * (with a deadline) rather than by arrival order. It also checks what must
 * hold for every frame whatever the test does, into `violations`: a frame
 * that is not JSON, an event of a watch whose KV_WATCH answer has not arrived
 * yet or after its KV_UNWATCH answer, an event of an unknown form.
 */
export class V2Client {
  readonly socket: WebSocket;
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  /** What broke a rule every frame must follow (see the class comment). */
  readonly violations: string[] = [];
  #answers = new Map<string, Frame>();
  #events = new Map<number, EventFrame[]>();
  /** Frames that are neither an answer with an id nor an event. */
  #other: Frame[] = [];
  #opened = new Set<number>();
  #unwatched = new Set<number>();
  #nextId = 0;
  #waiters: (() => void)[] = [];
  #close: { code: number; reason: string } | null = null;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      this.#receive(typeof event.data === "string" ? event.data : "<binary>");
      this.#wake();
    });
    socket.addEventListener("close", (event) => {
      this.#close = { code: event.code, reason: event.reason };
      this.#wake();
    });
  }

  /** Opens a connection offering `protocols` (kvfleet.v2 by default) and resolves once open. */
  static open(url: string, protocols: string[] = [V2]): Promise<V2Client> {
    const socket = new WebSocket(url, protocols);
    const client = new V2Client(socket);
    return new Promise((resolve, reject) => {
      socket.addEventListener("open", () => resolve(client), { once: true });
      socket.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), {
        once: true,
      });
    });
  }

  /** The subprotocol the server selected ("" for none: version 1). */
  get protocol(): string {
    return this.socket.protocol;
  }

  send(text: string): void {
    this.socket.send(text);
  }

  /**
   * Sends `request` (JSON text of an object, or a value to stringify) with a
   * fresh numeric id as its first member, and returns that id.
   */
  post(request: string | Record<string, unknown>): number {
    const id = ++this.#nextId;
    const text = typeof request === "string" ? request : JSON.stringify(request);
    if (!text.startsWith("{")) throw new Error(`not a JSON object: ${text}`);
    this.send(text === "{}" ? `{"id":${id}}` : `{"id":${id},${text.slice(1)}`);
    return id;
  }

  /** Sends `request` with an id (see `post`) and awaits its answer. */
  async ask(request: string | Record<string, unknown>, ms?: number): Promise<Frame> {
    return this.answer(this.post(request), ms);
  }

  /** The answer to the request with id `id`, once it arrived. */
  async answer(id: number, ms = 5000): Promise<Frame> {
    await this.until(`the answer to id ${id}`, () => this.#answers.has(String(id)), ms);
    return this.#answers.get(String(id)) as Frame;
  }

  /** Opens a watch and returns its `w`; fails unless KV_WATCH answers st 1. */
  async watch(body: { keys?: string[]; prefixes?: string[] }): Promise<number> {
    const answer = await this.ask({ KV_WATCH: body });
    const rsp = answer.json.KV_WATCH_RSP as { st: number; w: number } | undefined;
    if (rsp?.st !== 1 || !Number.isSafeInteger(rsp.w) || rsp.w < 1) {
      throw new Error(`KV_WATCH ${JSON.stringify(body)} answered ${answer.text}`);
    }
    return rsp.w;
  }

  /** Ends watch `w`; fails unless KV_UNWATCH answers st 1. */
  async unwatch(w: number): Promise<Frame> {
    const answer = await this.ask({ KV_UNWATCH: { w } });
    if (answer.text !== `{"id":${answer.json.id},"KV_UNWATCH_RSP":{"st":1,"w":${w}}}`) {
      throw new Error(`KV_UNWATCH ${w} answered ${answer.text}`);
    }
    return answer;
  }

  /** Events of watch `w` so far, in order, optionally only those of key `k`. */
  events(w: number, k?: string): EventFrame[] {
    const all = this.#events.get(w) ?? [];
    return k === undefined ? all : all.filter((event) => event.k === k);
  }

  /** The texts of `events(w, k)`. */
  texts(w: number, k?: string): string[] {
    return this.events(w, k).map((event) => event.text);
  }

  /** Every event received, of any watch. */
  allEvents(): EventFrame[] {
    return [...this.#events.values()].flat().sort((a, b) => a.index - b.index);
  }

  /** Frames that were neither an answer with an id nor an event. */
  get other(): readonly Frame[] {
    return this.#other;
  }

  /** Resolves once `ready()` holds; fails after `ms`, naming `what` and the last frames. */
  async until(what: string, ready: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0 || this.#close !== null) {
        const why =
          this.#close === null ? `timed out after ${ms} ms` : `closed ${this.#close.code}`;
        const last = this.frames
          .slice(-8)
          .map(({ text }) =>
            text.length > 300 ? `${text.slice(0, 300)}... (${text.length} chars)` : text,
          );
        throw new Error(`${why} waiting for ${what}; last frames:\n${last.join("\n")}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Awaits events of `w` (of key `k` if given) until there are `n` of them; returns them all. */
  async untilEvents(w: number, n: number, k?: string, ms?: number): Promise<EventFrame[]> {
    const which = k === undefined ? `watch ${w}` : `watch ${w}, key ${JSON.stringify(k)}`;
    await this.until(`${n} events of ${which}`, () => this.events(w, k).length >= n, ms);
    return this.events(w, k);
  }

  /** Resolves with the close code and reason once the connection has closed. */
  async closed(ms = 10_000): Promise<{ code: number; reason: string }> {
    await this.until("the connection to close", () => this.#close !== null, ms).catch((err) => {
      if (this.#close === null) throw err;
    });
    return this.#close as { code: number; reason: string };
  }

  get isClosed(): boolean {
    return this.#close !== null;
  }

  close(): void {
    this.socket.close();
  }

  #receive(text: string): void {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.violations.push(`not JSON: ${text}`);
      return;
    }
    const frame: Frame = { text, json, index: this.frames.length };
    this.frames.push(frame);
    const event = json.KV_EVENT as Record<string, unknown> | undefined;
    if (event !== undefined) {
      this.#event(frame, event);
      return;
    }
    if (json.id === undefined) {
      this.#other.push(frame);
      return;
    }
    const id = String(json.id);
    if (this.#answers.has(id)) this.violations.push(`a second answer to id ${id}: ${text}`);
    this.#answers.set(id, frame);
    const opened = json.KV_WATCH_RSP as { st?: number; w?: number } | undefined;
    if (opened?.st === 1 && typeof opened.w === "number") {
      if (this.#opened.has(opened.w)) this.violations.push(`w ${opened.w} given twice: ${text}`);
      this.#opened.add(opened.w);
    }
    const ended = json.KV_UNWATCH_RSP as { st?: number; w?: number } | undefined;
    if (ended?.st === 1 && typeof ended.w === "number") this.#unwatched.add(ended.w);
  }

  #event(frame: Frame, event: Record<string, unknown>): void {
    const { w, op, k } = event;
    const names = Object.keys(frame.json).length === 1 ? Object.keys(event).join(",") : "";
    const form =
      typeof op !== "string"
        ? ""
        : OPS_WITH_VALUE.has(op)
          ? "w,k,op,v"
          : OPS_WITH_KEY.has(op)
            ? "w,k,op"
            : op === "clear" || op === "reset"
              ? "w,op"
              : "";
    if (form === "" || names !== form || (k !== undefined && typeof k !== "string")) {
      this.violations.push(`an event of unknown form: ${frame.text}`);
    }
    if (typeof w !== "number") return;
    if (!this.#opened.has(w))
      this.violations.push(`an event before its KV_WATCH answer: ${frame.text}`);
    if (this.#unwatched.has(w)) this.violations.push(`an event after KV_UNWATCH: ${frame.text}`);
    const list = this.#events.get(w) ?? [];
    list.push({ ...frame, w, op: String(op), ...(typeof k === "string" ? { k } : {}) });
    this.#events.set(w, list);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
