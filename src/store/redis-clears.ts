import type { Subscriber } from "./redis-subscriber.ts";

/**
 * One `clear` per KV_CLEAR on a Cluster. Each master flushes in its own
 * script and publishes `c<id>` (one id for the whole KV_CLEAR) in order with
 * its own events, on its own connection, so a watching node gets one per
 * master, interleaved with the other masters' events. The first one to
 * arrive becomes the one `clear`. Until a master's own `c<id>` arrives,
 * what it sends precedes its flush, which wiped it, so it is dropped: a
 * listener that dropped every key at the `clear` must not see them come
 * back. A master whose `c<id>` does not come in time (its flush failed)
 * means events may be missing: `missing` is called for a `reset`.
 */
export class Clears {
  /** Per clear id: the masters still owing their `c<id>`; kept until its wait ends, for late ones. */
  readonly #pending = new Map<string, Set<Subscriber>>();
  readonly #wait: number;
  readonly #missing: () => void;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(wait: number, missing: () => void) {
    this.#wait = wait;
    this.#missing = missing;
  }

  /** `c<id>` from `from`: true when it is the first of its clear, which the listeners get. */
  arrived(from: Subscriber, id: string, masters: Iterable<Subscriber>): boolean {
    const pending = this.#pending.get(id);
    if (pending !== undefined) {
      pending.delete(from);
      return false;
    }
    const others = new Set<Subscriber>();
    for (const sub of masters) if (sub !== from && sub.slots.size > 0) others.add(sub);
    this.#pending.set(id, others);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#pending.delete(id);
      if (others.size > 0) this.#missing();
    }, this.#wait);
    this.#timers.add(timer);
    return true;
  }

  /** True while a clear waits for `from`'s own `c<id>`: what it sends now precedes its flush. */
  dropping(from: Subscriber): boolean {
    if (this.#pending.size === 0) return false;
    for (const pending of this.#pending.values()) if (pending.has(from)) return true;
    return false;
  }

  /** `from` lost its connection: its interruption owes a reset already, no clear waits for it. */
  forget(from: Subscriber): void {
    for (const pending of this.#pending.values()) pending.delete(from);
  }

  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#pending.clear();
  }
}
