import type { Change, ChangeListener } from "../../src/store/store.ts";

/** What a listener got: the changes, and `reset` where the feed said some may be missing. */
export type Seen = Change | { readonly op: "reset" };

/** How long a test waits for the events it expects before it fails. */
export const EVENT_WAIT = 5000;

/**
 * A listener that records what it gets and lets a test wait for it: `until`
 * resolves as soon as the expected events are in, and fails the test after
 * EVENT_WAIT with what did arrive, so no test sleeps a fixed time.
 */
export class Recorder implements ChangeListener {
  readonly seen: Seen[] = [];
  readonly #waiters = new Set<() => void>();

  change(change: Change): void {
    this.seen.push(change);
    this.#wake();
  }

  reset(): void {
    this.seen.push({ op: "reset" });
    this.#wake();
  }

  /** The changes of one key, in the order they arrived. */
  of(key: string): Change[] {
    return this.seen.filter((e): e is Change => "key" in e && e.key === key);
  }

  count(op: Seen["op"]): number {
    return this.seen.filter((e) => e.op === op).length;
  }

  /** Resolves once `done()` holds; rejects after `ms`, naming `what` and what arrived. */
  until(what: string, done: () => boolean, ms = EVENT_WAIT): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        const tail = JSON.stringify(this.seen.slice(-20));
        reject(new Error(`no ${what} within ${ms} ms; the last events: ${tail}`));
      }, ms);
      this.#waiters.add(check);
    });
  }

  /** Resolves once key's changes are at least `n` long; answers them. */
  async next(key: string, n: number): Promise<Change[]> {
    await this.until(`${n} events of ${JSON.stringify(key)}`, () => this.of(key).length >= n);
    return this.of(key);
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
