/**
 * RESP2, the Redis wire format, for the store's own connection
 * (`resp-connection.ts`): commands out as arrays of bulk strings, replies in
 * as JavaScript values the way ioredis gives them (strings, numbers, arrays,
 * null, and an error reply as a `RespError`), so one set of operations reads
 * replies from either.
 */

/** An error reply (`-ERR ...`), also as an element of an array reply. */
export class RespError extends Error {
  override readonly name = "RespError";
}

export type Reply = string | number | null | RespError | Reply[];

type Args = readonly (string | number)[];

/**
 * Commands as RESP text, appended to one string for one socket write, with
 * their length in bytes kept as they are added (each argument's UTF-8 length
 * is needed for its header anyway), so the text is never measured again.
 */
export class CommandBuffer {
  text = "";
  bytes = 0;

  /** Appends one command, `head` then `tail`, as an array of bulk strings. */
  add(head: Args, tail: Args = NONE): void {
    const text = this.#bulks(this.#bulks(`*${head.length + tail.length}\r\n`, head), tail);
    this.text += text;
    this.bytes += text.length;
  }

  /** `text` and a bulk string per argument; adds to `bytes` what UTF-8 takes beyond `length`. */
  #bulks(text: string, args: Args): string {
    let out = text;
    for (const arg of args) {
      const bulk = typeof arg === "string" ? arg : String(arg);
      const bytes = Buffer.byteLength(bulk);
      this.bytes += bytes - bulk.length;
      out += `$${bytes}\r\n${bulk}\r\n`;
    }
    return out;
  }

  /** The text so far and its bytes, leaving the buffer empty. */
  take(): { text: string; bytes: number } {
    const out = { text: this.text, bytes: this.bytes };
    this.text = "";
    this.bytes = 0;
    return out;
  }
}

const NONE: Args = [];

const CR = 13;
/** Thrown inside the parser when the buffer ends mid-reply; carries nothing. */
const INCOMPLETE = Symbol("incomplete");

/** An array reply being read: its elements so far, and how many it has. */
interface Open {
  readonly out: Reply[];
  readonly count: number;
}

/** What `#element` read when it was an array's header: the array is now open. */
const OPENED = Symbol("opened");

/**
 * Parses replies from a stream of chunks, one element at a time: the arrays
 * being read are kept open across chunks, so an element cut between chunks
 * is read again from its own start, never the whole reply (an MGET of 256
 * values of 8 KB comes in dozens of chunks). `need` remembers how many bytes
 * the cut element takes at least, so a large bulk string arriving in many
 * chunks is joined once instead of re-read per chunk.
 */
export class RespParser {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = 0;
  #buf: Buffer = Buffer.alloc(0);
  #at = 0;
  #open: Open[] = [];

  /** Feeds a chunk; calls `onReply` for each complete reply in it, in order. */
  feed(chunk: Buffer, onReply: (reply: Reply) => void): void {
    if (this.#buffered === 0 && this.#chunks.length === 0) {
      this.#buf = chunk;
    } else {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered < this.#need) return;
      this.#buf = Buffer.concat(this.#chunks, this.#buffered);
      this.#chunks = [];
      this.#buffered = 0;
    }
    this.#at = 0;
    this.#need = 0;
    const buf = this.#buf;
    while (this.#at < buf.length) {
      const start = this.#at;
      let element: Reply | typeof OPENED;
      try {
        element = this.#element();
      } catch (err) {
        if (err !== INCOMPLETE) throw err;
        // A copy: the tail outlives this chunk, whose memory the socket may reuse.
        const rest = Buffer.from(buf.subarray(start));
        this.#need = Math.max(this.#need - start, rest.length + 1);
        this.#chunks = [rest];
        this.#buffered = rest.length;
        return;
      }
      if (element === OPENED) continue;
      this.#complete(element, onReply);
    }
    this.#buf = Buffer.alloc(0);
  }

  /** Drops a partial reply (the connection it came from is gone). */
  reset(): void {
    this.#chunks = [];
    this.#buffered = 0;
    this.#need = 0;
    this.#open = [];
  }

  /** Puts a finished element in its array, closing the arrays it completes, or answers it. */
  #complete(element: Reply, onReply: (reply: Reply) => void): void {
    let value = element;
    for (;;) {
      const top = this.#open[this.#open.length - 1];
      if (top === undefined) {
        onReply(value);
        return;
      }
      top.out.push(value);
      if (top.out.length < top.count) return;
      this.#open.pop();
      value = top.out;
    }
  }

  /** One element: a whole value, or an array's header (the array is then open). */
  #element(): Reply | typeof OPENED {
    const type = this.#buf[this.#at];
    if (type === undefined) throw INCOMPLETE;
    const line = this.#line();
    switch (type) {
      case 0x2b: // +
        return line;
      case 0x2d: // -
        return new RespError(line);
      case 0x3a: // :
        return Number(line);
      case 0x24: {
        // $
        const length = Number(line);
        if (length < 0) return null;
        const end = this.#at + length;
        if (end + 2 > this.#buf.length) {
          this.#need = end + 2;
          throw INCOMPLETE;
        }
        const text = this.#buf.toString("utf8", this.#at, end);
        this.#at = end + 2;
        return text;
      }
      case 0x2a: {
        // *
        const count = Number(line);
        if (count < 0) return null;
        if (count === 0) return [];
        this.#open.push({ out: [], count });
        return OPENED;
      }
      default:
        throw new Error(`Redis sent a reply of unknown type ${String.fromCharCode(type)}`);
    }
  }

  /** The rest of the current line after its type byte, moving past its CRLF. */
  #line(): string {
    const buf = this.#buf;
    const cr = buf.indexOf(CR, this.#at + 1);
    if (cr < 0 || cr + 1 >= buf.length) throw INCOMPLETE;
    const text = buf.toString("utf8", this.#at + 1, cr);
    this.#at = cr + 2;
    return text;
  }
}
