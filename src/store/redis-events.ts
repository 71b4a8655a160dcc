import type { Cluster, Redis, RedisOptions } from "ioredis";
import {
  decodeExpired,
  decodeMessage,
  SLOTS,
  singleChannel,
  slotChannel,
  slotKey,
} from "./redis-channels.ts";
import { defineScripts } from "./redis-scripts.ts";
import { Subscriber, type SubscriberHandlers } from "./redis-subscriber.ts";
import type { Change, ChangeListener } from "./store.ts";

/** While events don't flow, how often the feed tries again (a failover takes seconds). */
const RETRY_EVERY = 300;
/** The least a first watch waits for events to flow before it fails (at least the command timeout). */
const START_TIMEOUT = 5000;

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

/** A watch waiting for events to flow. */
interface Joining {
  readonly listener: ChangeListener;
  readonly resolve: () => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** A clear seen from one master, waiting for the same clear from the others. */
interface Clearing {
  /** Masters whose events still precede their flush: dropped until their `c<id>` arrives. */
  readonly pending: Set<Subscriber>;
}

/** The subscribers of one stretch of watching, from the first watch to the last stop. */
class Feed implements SubscriberHandlers {
  readonly #client: Redis | Cluster;
  readonly #timeout: number;
  readonly #listeners: Set<ChangeListener>;
  readonly #notes: Map<string, string>;
  readonly #subs = new Map<string, Subscriber>();
  readonly #joining = new Set<Joining>();
  readonly #clears = new Map<string, Clearing>();
  #flowing = false;
  /** Events may have been missed since they last flowed: a `reset` is owed. */
  #missed = false;
  /** A probe of the scripts' publish succeeded, so events flowed once (see `#probe`). */
  #probed = false;
  #settling = false;
  #again = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #lastError = "no subscriber connected yet";

  constructor(
    client: Redis | Cluster,
    timeout: number,
    listeners: Set<ChangeListener>,
    notes: Map<string, string>,
  ) {
    this.#client = client;
    this.#timeout = timeout;
    this.#listeners = listeners;
    this.#notes = notes;
    if (!client.isCluster) this.#add((client as Redis).options);
    void this.#settle();
  }

  get joining(): boolean {
    return this.#joining.size > 0;
  }

  /** Adds `listener` once events flow; rejects when they don't within the start timeout. */
  join(listener: ChangeListener): Promise<void> {
    if (this.#flowing) {
      this.#listeners.add(listener);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry: Joining = {
        listener,
        resolve,
        timer: setTimeout(
          () => {
            if (!this.#joining.delete(entry)) return;
            reject(new Error(`change events from Redis did not start: ${this.#lastError}`));
          },
          Math.max(this.#timeout, START_TIMEOUT),
        ),
      };
      this.#joining.add(entry);
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    const subs = [...this.#subs.values()];
    this.#subs.clear();
    await Promise.all(subs.map((sub) => sub.stop()));
  }

  message(from: Subscriber, message: Buffer): void {
    const change = decodeMessage(message);
    if (change === undefined) return;
    if (change.op === "clear" && "id" in change) this.#clear(from, change.id);
    else if (!this.#dropping(from)) this.#deliver(change);
  }

  expired(from: Subscriber, message: Buffer): void {
    const change = decodeExpired(message);
    if (change !== undefined && !this.#dropping(from)) this.#deliver(change);
  }

  ready(): void {
    void this.#settle();
  }

  lost(from: Subscriber): void {
    if (this.#probed) this.#missed = true;
    this.#flowing = false;
    // Its interruption already owes a reset: no clear waits for it.
    for (const clearing of this.#clears.values()) clearing.pending.delete(from);
    void this.#settle();
  }

  note(address: string, text: string | undefined): void {
    if (text === undefined) this.#notes.delete(address);
    else this.#notes.set(address, text);
  }

  #deliver(change: Change): void {
    for (const listener of this.#listeners) listener.change(change);
  }

  /**
   * KV_CLEAR on a Cluster flushes each master in its own script, each
   * publishing `c<id>` in order with that master's events. The first one
   * to arrive becomes the one `clear`; until a master's own `c<id>` arrives,
   * what it sends precedes its flush, which wiped it, so it is dropped. A
   * master whose `c<id>` does not come in time (its flush failed) owes a
   * `reset`. On a single Redis there is one stream and no id.
   */
  #clear(from: Subscriber, id: string): void {
    const seen = this.#clears.get(id);
    if (seen !== undefined) {
      seen.pending.delete(from);
      return;
    }
    this.#deliver({ op: "clear" });
    if (!this.#client.isCluster) return;
    const pending = new Set([...this.#subs.values()].filter((s) => s !== from && s.slots.size > 0));
    this.#clears.set(id, { pending });
    setTimeout(
      () => {
        this.#clears.delete(id);
        if (pending.size === 0 || this.#stopped) return;
        if (this.#flowing) this.#reset();
        else this.#missed = true;
      },
      2 * this.#timeout + 1000,
    );
  }

  #dropping(from: Subscriber): boolean {
    if (this.#clears.size === 0) return false;
    for (const clearing of this.#clears.values()) if (clearing.pending.has(from)) return true;
    return false;
  }

  #reset(): void {
    this.#missed = false;
    for (const listener of this.#listeners) listener.reset();
  }

  #add(options: RedisOptions): Subscriber {
    const sub = new Subscriber(options, this.#client.isCluster, this);
    this.#subs.set(sub.address, sub);
    return sub;
  }

  /**
   * Brings every subscriber to its subscriptions, then checks whether events
   * flow; while they don't, tries again every RETRY_EVERY ms. One at a time:
   * a trigger meanwhile (a subscriber came up, a slot moved) runs it again.
   */
  async #settle(): Promise<void> {
    if (this.#settling) {
      this.#again = true;
      return;
    }
    this.#settling = true;
    clearTimeout(this.#retry);
    try {
      do {
        this.#again = false;
        if (this.#client.isCluster) await this.#masters(this.#client as Cluster);
        await Promise.all(
          [...this.#subs.values()].map((sub) =>
            sub.connected
              ? sub.sync().catch((err: unknown) => {
                  this.#lastError = err instanceof Error ? err.message : String(err);
                  return false;
                })
              : false,
          ),
        );
        if (this.#stopped) return;
      } while (this.#again);
      if (this.#covered() && (await this.#probe())) this.#flow();
    } finally {
      this.#settling = false;
    }
    if (!this.#flowing && !this.#stopped) {
      this.#retry = setTimeout(() => void this.#settle(), RETRY_EVERY);
    }
  }

  /** A subscriber for every master of the client's slot map (refreshed), none for the others. */
  async #masters(cluster: Cluster): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#timeout);
      cluster.refreshSlotsCache(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    const masters = new Map<string, RedisOptions>();
    for (const node of cluster.nodes("master")) {
      const { host, port } = node.options;
      masters.set(`${host}:${port}`, { ...cluster.options.redisOptions, host, port });
    }
    for (const [address, sub] of this.#subs) {
      if (masters.has(address)) continue;
      this.#subs.delete(address);
      if (sub.slots.size > 0) this.lost(sub);
      void sub.stop();
    }
    for (const [address, options] of masters) if (!this.#subs.has(address)) this.#add(options);
  }

  /** Every subscriber live and, on a Cluster, every slot's channel confirmed on one of them. */
  #covered(): boolean {
    const subs = [...this.#subs.values()];
    if (subs.length === 0 || !subs.every((sub) => sub.live)) {
      this.#lastError = "a subscriber is not connected";
      return false;
    }
    if (!this.#client.isCluster) return true;
    const covered = new Uint8Array(SLOTS);
    let count = 0;
    for (const sub of subs) {
      for (const slot of sub.slots) {
        if (covered[slot] === 1) continue;
        covered[slot] = 1;
        count++;
      }
    }
    if (count < SLOTS) this.#lastError = `${SLOTS - count} slots not subscribed yet`;
    return count === SLOTS;
  }

  /**
   * Before the first watch is live: a script run as the user the write
   * scripts run as must count the subscription and may publish, or the
   * writes would drop their events silently (an ACL without `PUBSUB` or the
   * channel). On a Cluster, on every master (a slot of each).
   */
  async #probe(): Promise<boolean> {
    if (this.#probed) return true;
    const client = this.#client;
    defineScripts(client);
    const targets = client.isCluster
      ? [...this.#subs.values()].flatMap((sub) => {
          const slot = sub.slots.values().next().value;
          return slot === undefined ? [] : [[slotKey(slot), slotChannel(slot)] as const];
        })
      : [singleChannel((client as Redis).options.db ?? 0)].map((ch) => [ch, ch] as const);
    try {
      const counts = await Promise.all(targets.map(([key, ch]) => client.kvfleetProbe(key, ch)));
      if (counts.some((n) => n === 0)) {
        this.#lastError = "a probe found no subscriber on its channel";
        return false;
      }
    } catch (err) {
      this.#lastError = `the write scripts can't publish (${err instanceof Error ? err.message : err})`;
      return false;
    }
    this.#probed = true;
    return true;
  }

  /** Events flow: the `reset` owed to the listeners first, then the watches waiting join. */
  #flow(): void {
    this.#flowing = true;
    if (this.#missed) this.#reset();
    const joining = [...this.#joining];
    this.#joining.clear();
    for (const { listener, resolve, timer } of joining) {
      clearTimeout(timer);
      this.#listeners.add(listener);
      resolve();
    }
  }
}
