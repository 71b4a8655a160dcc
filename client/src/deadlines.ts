/**
 * Things that time out after one same delay, under one timer: the oldest is
 * always the next to expire, so the timer only ever waits for the first. A
 * timer per request costs more than the rest of a request's bookkeeping.
 */
export class Deadlines<T> {
  readonly #ms: number;
  readonly #expired: (item: T) => void;
  /** Each item's deadline (Date.now() ms), in the order they were added. */
  readonly #items = new Map<T, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number, expired: (item: T) => void) {
    this.#ms = ms;
    this.#expired = expired;
  }

  add(item: T): void {
    this.#items.set(item, Date.now() + this.#ms);
    if (this.#timer === undefined) this.#arm();
  }

  delete(item: T): void {
    this.#items.delete(item);
  }

  clear(): void {
    this.#items.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    const first = this.#items.values().next();
    this.#timer = first.done
      ? undefined
      : setTimeout(() => this.#expire(), Math.max(0, first.value - Date.now()));
  }

  #expire(): void {
    const now = Date.now();
    for (const [item, deadline] of this.#items) {
      if (deadline > now) break;
      this.#items.delete(item);
      this.#expired(item);
    }
    this.#arm();
  }
}
