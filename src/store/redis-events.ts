import type { Cluster, Redis } from "ioredis";
import { Feed } from "./redis-feed.ts";
import type { ChangeListener } from "./store.ts";

/**
 * The change feed of a Redis or Redis Cluster store: every write script
 * publishes its changes (`redis-events-lua.ts`), and this node, while
 * anyone watches through it, holds one subscriber connection per master
 * (`redis-subscriber.ts`) and hands what arrives to its listeners.
 *
 * Events *flow* once every subscriber confirmed its subscriptions and, on a
 * Cluster, the confirmed slot channels cover all 16384 slots. A first
 * `watch` resolves then. Anything that may lose events afterwards (a
 * subscriber's connection closed, a slot moved away from a master) stops
 * the flow; once it flows again, every listener gets one `reset`, however
 * many interruptions there were in between.
 */
export class RedisEvents {
  readonly #client: Redis | Cluster;
  readonly #timeout: number;
  readonly #listeners = new Set<ChangeListener>();
  /** Lines for `/readyz`, by Redis address (see `notes`). */
  readonly #notes = new Map<string, string>();
  #feed: Feed | null = null;

  constructor(client: Redis | Cluster, timeout: number) {
    this.#client = client;
    this.#timeout = timeout;
  }

  /** What `/readyz` should say about events: Redis settings that keep some from flowing. */
  notes(): string[] {
    return [...this.#notes.values()];
  }

  /** Ends the feed, whoever still watches (the store is closing). */
  async close(): Promise<void> {
    const feed = this.#feed;
    this.#feed = null;
    this.#listeners.clear();
    await feed?.stop();
  }

  async watch(listener: ChangeListener): Promise<() => Promise<void>> {
    this.#feed ??= new Feed(this.#client, this.#timeout, this.#listeners, this.#notes);
    const feed = this.#feed;
    try {
      await feed.join(listener);
    } catch (err) {
      if (this.#listeners.size === 0 && this.#feed === feed && !feed.joining) {
        this.#feed = null;
        await feed.stop();
      }
      throw err;
    }
    let stopped = false;
    return async () => {
      if (stopped) return;
      stopped = true;
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0 || this.#feed !== feed || feed.joining) return;
      this.#feed = null;
      await feed.stop();
    };
  }
}
