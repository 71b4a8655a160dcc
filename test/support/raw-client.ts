import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

/**
 * A bare-bones WebSocket client on a TCP socket whose reading can be paused,
 * so a test can play a client that stops reading its responses.
 */
export class RawClient {
  readonly socket: Socket;
  #buffer = Buffer.alloc(0);
  #texts = 0;
  #closeCode: number | null = null;
  #pings = 0;
  #onPing: (() => void) | null = null;
  /** The server's 101 response head. */
  head = "";
  #ended: Promise<void>;
  /** Text payloads received and not yet read, when the client keeps them. */
  #kept: string[] | null = null;
  #onText: (() => void) | null = null;
  #gone = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.#ended = new Promise((resolve) =>
      socket.once("close", () => {
        this.#gone = true;
        this.#onText?.();
        resolve();
      }),
    );
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("error", () => {});
  }

  /**
   * Upgrades a new TCP connection on `path` with `extraHeaders` (CRLF-terminated
   * lines); with `keepTexts` the text frames received are kept for `nextText`.
   */
  static open(
    host: string,
    port: number,
    extraHeaders = "",
    { path = "/", keepTexts = false }: { path?: string; keepTexts?: boolean } = {},
  ): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host);
      socket.once("error", reject);
      socket.once("connect", () => {
        const key = randomBytes(16).toString("base64");
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
        );
        let head = Buffer.alloc(0);
        const onData = (chunk: Buffer) => {
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf("\r\n\r\n");
          if (end < 0) return;
          socket.off("data", onData);
          if (!head.subarray(0, end).toString().startsWith("HTTP/1.1 101")) {
            reject(new Error(`upgrade refused: ${head.subarray(0, end).toString()}`));
            return;
          }
          const client = new RawClient(socket);
          if (keepTexts) client.#kept = [];
          client.head = head.subarray(0, end).toString();
          client.#read(head.subarray(end + 4));
          resolve(client);
        };
        socket.on("data", onData);
      });
    });
  }

  /** Sends one masked text frame. */
  sendText(text: string): boolean {
    const payload = Buffer.from(text);
    const n = payload.length;
    const header =
      n < 126 ? Buffer.from([0x81, 0x80 | n]) : Buffer.from([0x81, 0x80 | 126, n >> 8, n & 0xff]);
    const mask = randomBytes(4);
    for (let i = 0; i < n; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
    return this.socket.write(Buffer.concat([header, mask, payload]));
  }

  /** The next text frame's payload (needs `keepTexts`); rejects if the connection ends first. */
  async nextText(): Promise<string> {
    const kept = this.#kept;
    if (kept === null) throw new Error("RawClient opened without keepTexts");
    while (kept.length === 0) {
      if (this.#gone) throw new Error("connection ended while awaiting a text frame");
      await new Promise<void>((resolve) => {
        this.#onText = resolve;
      });
    }
    return kept.shift() as string;
  }

  /** Text frames received so far. */
  get texts(): number {
    return this.#texts;
  }

  /** Resolves when the server has sent a ping (without answering it). */
  pinged(): Promise<void> {
    if (this.#pings > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onPing = resolve;
    });
  }

  /** Resolves once the server closed the TCP connection: the close code it sent, if any. */
  async ended(): Promise<number | null> {
    await this.#ended;
    return this.#closeCode;
  }

  #read(chunk: Buffer): void {
    let buf = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      if (buf.length < 2) break;
      const opcode = (buf[0] as number) & 0x0f;
      let len = (buf[1] as number) & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (buf.length < 4) break;
        len = buf.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (buf.length < 10) break;
        len = Number(buf.readBigUInt64BE(2));
        offset = 10;
      }
      if (buf.length < offset + len) break;
      if (opcode === 0x1) {
        this.#texts++;
        if (this.#kept !== null) {
          this.#kept.push(buf.subarray(offset, offset + len).toString("utf8"));
          this.#onText?.();
        }
      }
      if (opcode === 0x9) {
        this.#pings++;
        this.#onPing?.();
      }
      if (opcode === 0x8 && len >= 2) this.#closeCode = buf.readUInt16BE(offset);
      buf = buf.subarray(offset + len);
    }
    this.#buffer = Buffer.from(buf);
  }
}

/**
 * Writes `request` (as UTF-8) on a new TCP connection, for requests no HTTP client would
 * send; resolves with everything the server wrote once it closed the connection.
 */
export function rawRequest(host: string, port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("error", reject);
    socket.once("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
  });
}

/** The values of every `Sec-WebSocket-Protocol` line of a 101 head: none when no protocol was selected. */
export function selectedProtocols(head: string): string[] {
  return head
    .split("\r\n")
    .slice(1)
    .filter((line) => /^sec-websocket-protocol\s*:/i.test(line))
    .map((line) => line.slice(line.indexOf(":") + 1).trim());
}
