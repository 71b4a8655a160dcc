import type { Change, ChangeListener } from "./store.ts";

/**
 * The listeners of a store that applies every change in this process (the
 * memory store): a change reaches them synchronously, in the order applied,
 * so per-key order holds by construction and nothing can be missed. With no
 * listener, `active` is false and the store builds no change at all.
 */
export class ChangeFeed {
  readonly #listeners = new Set<ChangeListener>();

  get active(): boolean {
    return this.#listeners.size > 0;
  }

  emit(change: Change): void {
    for (const listener of this.#listeners) listener.change(change);
  }

  watch(listener: ChangeListener): Promise<() => Promise<void>> {
    this.#listeners.add(listener);
    return Promise.resolve(() => {
      this.#listeners.delete(listener);
      return Promise.resolve();
    });
  }
}
