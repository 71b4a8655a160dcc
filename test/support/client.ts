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

  /** Opens a connection and resolves once it is open; `init` is Bun's (headers, tls). */
  static open(
    url: string,
    init?: { headers?: Record<string, string>; tls?: { ca?: string } },
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
