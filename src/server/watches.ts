import { eventTail, eventText, RESET_TAIL } from "../protocol/responses-v2.ts";
import type { Change, ChangeListener, Store } from "../store/store.ts";

/** Where a watch's events go: its connection, which counts them toward its backlog. */
export type Push = (text: string) => void;

/** What the registry reports, for metrics and logs. */
export interface WatchEvents {
  /** Watches opened (+1) or closed (-1). */
  watching(delta: number): void;
  /** Events sent to watches, resets included. */
  sent(events: number): void;
  /** The store's feed was interrupted: `watches` watches got a `reset`. */
  reset(watches: number): void;
}

interface Watch {
  readonly w: number;
  readonly push: Push;
  readonly keys: readonly string[];
  readonly prefixes: readonly string[];
}

/** Watches of one connection: ids unique on it, a bound on how many it holds. */
export interface Session {
  /** The new watch's id once the store's feed is live, or undefined past `maxWatches`. */
  watch(keys: readonly string[], prefixes: readonly string[]): Promise<number> | undefined;
  /** False when this connection has no watch `w`; after true, no event of `w` follows. */
  unwatch(w: number): boolean;
  /** The connection is gone: its watches end. */
  close(): void;
}

/**
 * Every watch of one node, matched against the store's change feed. The feed
 * runs only while some watch is open (so a node nobody watches through
 * subscribes to nothing); each change is encoded once and sent to every
 * matching watch, one event per watch even when several of its keys and
 * prefixes match.
 */
export class Watches implements ChangeListener {
  readonly #store: Store;
  readonly #maxWatches: number;
  readonly #events: WatchEvents;
  readonly #byKey = new Map<string, Set<Watch>>();
  readonly #byPrefix = new Map<string, Set<Watch>>();
  readonly #all = new Set<Watch>();
  /** The live feed's stop function, or its start under way; null while no watch is open. */
  #feed: Promise<() => Promise<void>> | null = null;
  /** The last feed's stop, which a new start waits for. */
  #stopped: Promise<void> = Promise.resolve();

  constructor(store: Store, maxWatches: number, events: WatchEvents) {
    this.#store = store;
    this.#maxWatches = maxWatches;
    this.#events = events;
  }

  session(push: Push): Session {
    const mine = new Map<number, Watch>();
    let next = 1;
    let closed = false;
    return {
      watch: (keys, prefixes) => {
        if (mine.size >= this.#maxWatches) return undefined;
        const watch: Watch = {
          w: next++,
          push,
          keys: [...new Set(keys)],
          prefixes: [...new Set(prefixes)],
        };
        // Counted at once, so that concurrent requests can't pass the bound together.
        mine.set(watch.w, watch);
        return this.#live().then(
          () => {
            if (closed || !mine.has(watch.w)) this.#release();
            else this.#add(watch);
            return watch.w;
          },
          (error: unknown) => {
            mine.delete(watch.w);
            this.#release();
            throw error;
          },
        );
      },
      unwatch: (w) => {
        const watch = mine.get(w);
        if (watch === undefined) return false;
        mine.delete(w);
        if (this.#all.has(watch)) this.#remove(watch);
        return true;
      },
      close: () => {
        closed = true;
        for (const watch of mine.values()) if (this.#all.has(watch)) this.#remove(watch);
        mine.clear();
      },
    };
  }

  change(change: Change): void {
    if (change.op === "clear") {
      this.#send(this.#all, eventTail(change));
      return;
    }
    const { key } = change;
    let matched: Set<Watch> | undefined = this.#byKey.get(key);
    let copied = false;
    for (const [prefix, watches] of this.#byPrefix) {
      if (!key.startsWith(prefix)) continue;
      if (matched === undefined) {
        matched = watches;
        continue;
      }
      // A second source of matches: merge into a set of our own, one event per watch.
      if (!copied) {
        matched = new Set(matched);
        copied = true;
      }
      for (const watch of watches) matched.add(watch);
    }
    if (matched !== undefined) this.#send(matched, eventTail(change));
  }

  reset(): void {
    this.#events.reset(this.#all.size);
    this.#send(this.#all, RESET_TAIL);
  }

  #send(watches: Iterable<Watch>, tail: string): void {
    let n = 0;
    for (const watch of watches) {
      watch.push(eventText(watch.w, tail));
      n++;
    }
    if (n > 0) this.#events.sent(n);
  }

  /** Starts the store's feed unless it runs; every watch waits until it is live. */
  #live(): Promise<unknown> {
    this.#pending++;
    if (this.#feed === null) {
      const feed = this.#stopped.then(() => this.#store.watch(this));
      this.#feed = feed;
      feed.catch(() => {
        if (this.#feed === feed) this.#feed = null;
      });
    }
    return this.#feed;
  }

  /** Watches counted by `#live` and not yet added or dropped. */
  #pending = 0;

  #add(watch: Watch): void {
    this.#pending--;
    this.#all.add(watch);
    for (const key of watch.keys) setOf(this.#byKey, key).add(watch);
    for (const prefix of watch.prefixes) setOf(this.#byPrefix, prefix).add(watch);
    this.#events.watching(1);
  }

  #remove(watch: Watch): void {
    this.#all.delete(watch);
    for (const key of watch.keys) deleteFrom(this.#byKey, key, watch);
    for (const prefix of watch.prefixes) deleteFrom(this.#byPrefix, prefix, watch);
    this.#events.watching(-1);
    this.#stopIfUnused();
  }

  /** A watch that never got added: its connection went first, or the feed failed. */
  #release(): void {
    this.#pending--;
    this.#stopIfUnused();
  }

  /** Ends the feed once no watch is open or on its way, so nothing stays subscribed. */
  #stopIfUnused(): void {
    if (this.#all.size > 0 || this.#pending > 0 || this.#feed === null) return;
    const feed = this.#feed;
    this.#feed = null;
    this.#stopped = feed
      .then((stop) => stop())
      .then(
        () => undefined,
        () => undefined,
      );
  }
}

function setOf<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}

function deleteFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
