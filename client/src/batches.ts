import { type Element, elementsOf, type Item } from "./requests.ts";
import type { Frame } from "./session.ts";

/** What a batch is sent through: the session's `request`, and whether any is unanswered. */
export interface Requester {
  request(command: string, body: string, options: string): Promise<Frame>;
  readonly busy: boolean;
}

/**
 * Runs `run` once this turn's I/O callbacks and their microtasks are done:
 * calls made in response to one answer frame settle in a chain of
 * microtasks, so a microtask would send the first of them alone.
 * `setImmediate` in Bun and Node; a MessageChannel message in a browser (a
 * task, not clamped as `setTimeout` is).
 */
const immediate = (globalThis as { setImmediate?: (run: () => void) => unknown }).setImmediate;
const afterTurn: (run: () => void) => void =
  immediate !== undefined
    ? (run) => {
        immediate(run);
      }
    : (() => {
        const channel = new MessageChannel();
        const queue: (() => void)[] = [];
        channel.port1.onmessage = () => queue.shift()?.();
        return (run: () => void) => {
          queue.push(run);
          channel.port2.postMessage(0);
        };
      })();

/** A call waiting in a batch for its `count` elements of the answer. */
interface Waiter {
  readonly count: number;
  readonly resolve: (elements: Element[]) => void;
  readonly reject: (error: unknown) => void;
}

interface Batch {
  readonly command: string;
  readonly body: "[]" | "{}";
  readonly options: string;
  /** Its place among this turn's batches: they are sent in this order. */
  readonly index: number;
  readonly texts: string[];
  /** UTF-8 bytes of its frame so far, the id counted at its longest. */
  bytes: number;
  readonly waiters: Waiter[];
}

/**
 * Commands that only read: the same key twice in one of their bodies is
 * answered twice, the same either way, so a repeated key need not start a
 * new batch (a write's would: a KV_SET object holds a member name once).
 */
const READS = new Set(["KV_GET", "KV_CONTAINS", "KV_TTL"]);

/**
 * `{"id":` + an id of up to 16 digits (2^53 - 1) + `,"` + `":` + the body's
 * brackets + `}`: a frame's bytes besides its command, options and items.
 * The id is given when the batch is sent, so its longest is counted.
 */
const ENVELOPE = 6 + 16 + 2 + 2 + 2 + 1;

/**
 * Joins the per-key calls made in one turn of the event loop into one
 * request per command and options, the way a hand-written client would send
 * `{"KV_GET":["a","b",...]}` instead of a request per key: one frame, one
 * answer, one parse, and a node that answers a burst in one write.
 *
 * What the store runs is what the calls alone would have run, in the same
 * order per key: a call joins the open batch of its command only if none of
 * its keys is in a batch made after that one (set(k) then get(k) then set(k)
 * is three batches), and a write only if its keys are not in that batch
 * already. Batches go out in the order they were made, at the end of the
 * turn or when another request is made (`flush`), so a count, a listing or
 * a watch asked after some calls is sent after them. The server runs one
 * connection's requests in order, so per key nothing can overtake.
 */
export class Batcher {
  readonly #requester: () => Requester;
  readonly #maxBytes: number;
  #batches: Batch[] = [];
  /** The batch calls of each command and options join, by `command + options`. */
  #open = new Map<string, Batch>();
  /** The index of the last batch of this turn each key is in. */
  #last = new Map<string, number>();
  #scheduled = false;
  readonly #flushSoon = () => {
    this.#scheduled = false;
    this.flush();
  };

  /** `maxBytes`: the largest frame a batch may grow to, in UTF-8 bytes (the server's kv.maxPayload). */
  constructor(requester: () => Requester, maxBytes: number) {
    this.#requester = requester;
    this.#maxBytes = maxBytes;
  }

  /** The elements of `items`, in order, from the answer of the batch the call joined. */
  send(command: string, body: "[]" | "{}", items: Item[], options: string): Promise<Element[]> {
    const bytes = itemBytes(items);
    const slot = options === "" ? command : command + options;
    let batch = this.#open.get(slot);
    if (batch !== undefined && this.#joins(batch, items, bytes)) {
      batch.bytes += 1 + bytes;
    } else {
      const frame = ENVELOPE + command.length + options.length + bytes;
      batch = {
        command,
        body,
        options,
        index: this.#batches.length,
        texts: [],
        bytes: frame,
        waiters: [],
      };
      this.#batches.push(batch);
      // A call alone over the bound is sent alone, as without batches; later calls may still join the open batch.
      if (frame <= this.#maxBytes) this.#open.set(slot, batch);
    }
    for (const item of items) {
      batch.texts.push(item.text);
      this.#last.set(item.key, batch.index);
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      // With nothing unanswered a call waits for nobody: it goes at the end of this microtask
      // checkpoint. Otherwise answers are arriving, and the calls they start gather in one batch.
      if (this.#requester().busy) afterTurn(this.#flushSoon);
      else queueMicrotask(this.#flushSoon);
    }
    const waiters = batch.waiters;
    return new Promise((resolve, reject) => {
      waiters.push({ count: items.length, resolve, reject });
    });
  }

  /** Sends this turn's batches now, in the order they were made. */
  flush(): void {
    const batches = this.#batches;
    if (batches.length === 0) return;
    this.#batches = [];
    this.#open = new Map();
    this.#last = new Map();
    for (const batch of batches) this.#sendBatch(batch);
  }

  #joins(batch: Batch, items: Item[], bytes: number): boolean {
    if (batch.bytes + 1 + bytes > this.#maxBytes) return false;
    const repeatable = READS.has(batch.command);
    for (const item of items) {
      const last = this.#last.get(item.key);
      if (last === undefined || last < batch.index) continue;
      if (last > batch.index || !repeatable) return false;
    }
    return true;
  }

  #sendBatch(batch: Batch): void {
    const { command, body, texts, waiters } = batch;
    const joined = texts.length === 1 ? (texts[0] as string) : texts.join(",");
    this.#requester()
      .request(command, `${body[0]}${joined}${body[1]}`, batch.options)
      .then((frame) => split(waiters, elementsOf(command, frame, texts.length)))
      .catch((error: unknown) => {
        // No answer, a KV_ERR, or an answer without the elements: every call of the batch fails alike.
        for (const waiter of waiters) waiter.reject(error);
      });
  }
}

/** Each call's elements, in the order the calls joined. */
function split(waiters: Waiter[], elements: Element[]): void {
  if (waiters.length === 1) {
    (waiters[0] as Waiter).resolve(elements);
    return;
  }
  let at = 0;
  for (const waiter of waiters) {
    const { count } = waiter;
    waiter.resolve(count === 1 ? [elements[at] as Element] : elements.slice(at, at + count));
    at += count;
  }
}

/** The UTF-8 bytes of the calls' items in a body, with the commas between them. */
function itemBytes(items: Item[]): number {
  let bytes = items.length - 1;
  for (const item of items) bytes += utf8Bytes(item.text);
  return bytes;
}

const BEYOND_ASCII = /[\u0080-\uffff]/;

/**
 * UTF-8 bytes of a string, as the server counts `kv.maxPayload`: a string's
 * length undercounts every character past U+007F. A lone surrogate counts 3,
 * the replacement character it is sent as.
 */
export function utf8Bytes(text: string): number {
  // Most texts are ASCII: the engine's regex scan is several times faster than this loop.
  if (!BEYOND_ASCII.test(text)) return text.length;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c < 0xdc00 && c >= 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // Two UTF-16 units, four bytes.
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}
