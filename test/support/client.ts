/**
 * A WebSocket client for tests that reads top to bottom: every message and
 * the close event are queued, and `next`/`take`/`closed` await them.
 */
export class TestClient {
  readonly socket: WebSocket;
  #messages: string[] = [];
  #waiters: (() => void)[] = [];
  #close: { code: number; reason: string } | null = null;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      this.#messages.push(typeof event.data === "string" ? event.data : "<binary>");
      this.#wake();
    });
    socket.addEventListener("close", (event) => {
      this.#close = { code: event.code, reason: event.reason };
      this.#wake();
    });
  }

  /**
   * Opens a connection and resolves once it is open; `init` is Bun's (headers,
   * tls, and `protocols`: the WebSocket subprotocols to offer, e.g. "kvfleet.v2").
   * Bun's client refuses a 101 that selects none of the protocols it offered,
   * so a test of an offer the server must decline uses `RawClient`.
   */
  static open(
    url: string,
    init?: {
      headers?: Record<string, string>;
      tls?: { ca?: string };
      protocols?: string | string[];
    },
  ): Promise<TestClient> {
    const socket = new WebSocket(url, init as unknown as string[]);
    const client = new TestClient(socket);
    return new Promise((resolve, reject) => {
      socket.addEventListener("open", () => resolve(client), { once: true });
      socket.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), {
        once: true,
      });
    });
  }

  /** The subprotocol the server selected in its 101 answer; "" when none. */
  get protocol(): string {
    return this.socket.protocol;
  }

  send(message: string | Uint8Array): void {
    this.socket.send(message);
  }

  /** Sends a command given as a JS value. */
  command(body: unknown): void {
    this.socket.send(JSON.stringify(body));
  }

  /** The next message, raw. */
  async nextText(): Promise<string> {
    await this.#until(() => this.#messages.length > 0 || this.#close !== null);
    const text = this.#messages.shift();
    if (text === undefined)
      throw new Error(`connection closed (${this.#close?.code}) while awaiting a message`);
    return text;
  }

  /** The next message, parsed. */
  async next(): Promise<unknown> {
    return JSON.parse(await this.nextText());
  }

  /** The next `n` messages, parsed. */
  async take(n: number): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next());
    return out;
  }

  /** Sends a command and awaits its `n` responses. */
  async ask(body: unknown, n = 1): Promise<unknown[]> {
    this.command(body);
    return this.take(n);
  }

  /**
   * The first unread message whose `id` member equals `id` (a protocol v2
   * answer), parsed and taken from the queue; messages before it stay unread.
   */
  async answerTo(id: string | number): Promise<Answer> {
    for (;;) {
      const index = this.#messages.findIndex((text) => idOf(text) === id);
      if (index >= 0) return JSON.parse(this.#messages.splice(index, 1)[0] as string) as Answer;
      if (this.#close !== null) {
        throw new Error(
          `connection closed (${this.#close.code}) while awaiting the answer to ${id}`,
        );
      }
      const seen = this.#messages.length;
      await this.#until(() => this.#messages.length > seen || this.#close !== null);
    }
  }

  /**
   * Sends a protocol v2 request, `{"id":id, <command>: body, ...options}`, and
   * awaits the answer with that id: `<command>_RSP` or `KV_ERR`, and the id.
   */
  request(
    id: string | number,
    command: string,
    body: unknown,
    options: Record<string, unknown> = {},
  ): Promise<Answer> {
    this.command({ id, [command]: body, ...options });
    return this.answerTo(id);
  }

  /** Messages received and not yet read. */
  get unread(): number {
    return this.#messages.length;
  }

  /** Resolves with the close code and reason once the connection has closed. */
  async closed(): Promise<{ code: number; reason: string }> {
    await this.#until(() => this.#close !== null);
    return this.#close as { code: number; reason: string };
  }

  close(): void {
    this.socket.close();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  async #until(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

/** A protocol v2 answer: `id` when the request had one, and `<CMD>_RSP` or `KV_ERR`. */
export type Answer = { id?: string | number } & Record<string, unknown>;

/** The `id` of an answer's text, or undefined when it has none or is not JSON. */
function idOf(text: string): unknown {
  if (!text.includes('"id":')) return undefined;
  try {
    return (JSON.parse(text) as { id?: unknown }).id;
  } catch {
    return undefined;
  }
}

/**
 * The HTTP status a WebSocket upgrade request to `httpUrl` gets, for the
 * refusals a WebSocket client only reports as an error.
 */
export async function upgradeStatus(
  httpUrl: string,
  headers: Record<string, string> = {},
): Promise<number> {
  const response = await fetch(httpUrl, {
    headers: {
      connection: "Upgrade",
      upgrade: "websocket",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      ...headers,
    },
  });
  await response.arrayBuffer();
  return response.status;
}

/** The node's `qryCnt`: the messages it has received so far, this one included. */
export async function queryCount(client: TestClient): Promise<number> {
  const [info] = (await client.ask({ KV_SERVER_INFO: {} })) as {
    KV_SERVER_INFO_RSP: { qryCnt: number };
  }[];
  return info?.KV_SERVER_INFO_RSP.qryCnt ?? -1;
}
