import type { Cluster, Redis, RedisOptions } from "ioredis";
import { decodeExpired, decodeMessage, LOUD_MESSAGE, quietChannel } from "./redis-channels.ts";
import { Clears } from "./redis-clears.ts";
import { defineScripts } from "./redis-scripts.ts";
import { Subscriber, type SubscriberHandlers } from "./redis-subscriber.ts";
import { clusterMasters, probeTargets, uncovered } from "./redis-topology.ts";
import type { Change, ChangeListener } from "./store.ts";

/** While events don't flow, how often the feed tries again (a failover takes seconds). */
const RETRY_EVERY = 300;
/** How often a watch starting asks whether the quiet nodes have all switched. */
const SILENCE_POLL = 2;
/** How long one try waits for them; the watch waits for tries until START_TIMEOUT. */
const SILENCE_TIMEOUT = 2000;
/** The least a first watch waits for events to flow before it fails (at least the command timeout). */
const START_TIMEOUT = 5000;

/** A watch waiting for events to flow. */
interface Joining {
  readonly listener: ChangeListener;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** An error that trying again won't mend: the Redis user lacks a permission. */
const REFUSED = /NOPERM|no permissions|can't publish/;

/** The `/readyz` line of a feed refused by Redis, under this key in the notes. */
const WATCH_NOTE = "watch";

/**
 * The subscribers of one stretch of watching, from the first watch to the
 * last stop (see `RedisEvents` in `redis-events.ts`), and what they carry
 * handed to the listeners.
 */
export class Feed implements SubscriberHandlers {
  readonly #client: Redis | Cluster;
  readonly #timeout: number;
  readonly #listeners: Set<ChangeListener>;
  readonly #notes: Map<string, string>;
  readonly #subs = new Map<string, Subscriber>();
  readonly #joining = new Set<Joining>();
  readonly #clears: Clears;
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
    this.#clears = new Clears(2 * timeout + 1000, () => {
      if (this.#flowing) this.#reset();
      else this.#missed = true;
    });
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
        reject,
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
    this.#clears.stop();
    const subs = [...this.#subs.values()];
    this.#subs.clear();
    await Promise.all(subs.map((sub) => sub.stop()));
  }

  message(from: Subscriber, message: Buffer): void {
    const change = decodeMessage(message);
    if (change === undefined) return;
    if (change.op === "lost") {
      if (this.#flowing) this.#reset();
      else if (this.#probed) this.#missed = true;
    } else if (change.op !== "clear" || !("id" in change)) {
      if (!this.#clears.dropping(from)) this.#deliver(change);
    } else if (
      !this.#client.isCluster ||
      this.#clears.arrived(from, change.id, this.#subs.values())
    ) {
      this.#deliver({ op: "clear" });
    }
  }

  expired(from: Subscriber, message: Buffer): void {
    const change = decodeExpired(message);
    if (change !== undefined && !this.#clears.dropping(from)) this.#deliver(change);
  }

  ready(): void {
    void this.#settle();
  }

  lost(from: Subscriber): void {
    if (this.#probed) this.#missed = true;
    this.#flowing = false;
    this.#clears.forget(from);
    void this.#settle();
  }

  note(address: string, text: string | undefined): void {
    if (text === undefined) this.#notes.delete(address);
    else this.#notes.set(address, text);
  }

  #deliver(change: Change): void {
    for (const listener of this.#listeners) listener.change(change);
  }

  #reset(): void {
    this.#missed = false;
    for (const listener of this.#listeners) listener.reset();
  }

  #add(options: RedisOptions): void {
    const sub = new Subscriber(options, this.#client.isCluster, this);
    this.#subs.set(sub.address, sub);
  }

  /**
   * Brings every subscriber to its subscriptions, then checks whether events
   * flow; while they don't, tries again every RETRY_EVERY ms. One at a time:
   * a trigger meanwhile (a subscriber came up or went, a slot moved) makes it
   * go round again before it may say events flow.
   */
  async #settle(): Promise<void> {
    if (this.#settling) {
      this.#again = true;
      return;
    }
    this.#settling = true;
    clearTimeout(this.#retry);
    try {
      for (;;) {
        this.#again = false;
        if (this.#client.isCluster) await this.#masters(this.#client as Cluster);
        await Promise.all([...this.#subs.values()].map((sub) => this.#sync(sub)));
        if (this.#stopped) return;
        if (this.#again) continue;
        const why = uncovered([...this.#subs.values()], this.#client.isCluster);
        if (why !== undefined) {
          this.#lastError = why;
          break;
        }
        const probed = (await this.#probe()) && (await this.#silence());
        if (this.#again || this.#stopped) continue;
        if (probed) this.#flow();
        break;
      }
    } finally {
      this.#settling = false;
    }
    if (!this.#flowing && !this.#stopped) {
      this.#retry = setTimeout(() => void this.#settle(), RETRY_EVERY);
    }
  }

  async #sync(sub: Subscriber): Promise<void> {
    if (!sub.connected) return;
    try {
      await sub.sync();
    } catch (err) {
      this.#failed(err instanceof Error ? err.message : String(err));
    }
  }

  /** A subscriber for every master of the client's slot map, none for the others. */
  async #masters(cluster: Cluster): Promise<void> {
    const masters = await clusterMasters(cluster, this.#timeout);
    for (const [address, sub] of this.#subs) {
      if (masters.has(address)) continue;
      this.#subs.delete(address);
      if (sub.slots.size > 0) this.lost(sub);
      void sub.stop();
    }
    for (const [address, options] of masters) if (!this.#subs.has(address)) this.#add(options);
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
    const targets = probeTargets(client, [...this.#subs.values()]);
    try {
      const counts = await Promise.all(targets.map(([key, ch]) => client.kvfleetProbe(key, ch)));
      if (counts.some((n) => n === 0)) {
        this.#lastError = "a probe found no subscriber on its channel";
        return false;
      }
    } catch (err) {
      this.#failed(`the write scripts can't publish (${err instanceof Error ? err.message : err})`);
      return false;
    }
    this.#probed = true;
    return true;
  }

  /**
   * Before events flow, on a single Redis: no node may still send plain
   * writes (see `redis-quiet.ts`). Tells the quiet nodes `loud`, then waits
   * until none is subscribed to the quiet channel, each having seen its
   * plain writes run; within the start timeout, or events don't flow yet.
   */
  async #silence(): Promise<boolean> {
    if (this.#client.isCluster) return true;
    const redis = this.#client as Redis;
    const channel = quietChannel(redis.options.db ?? 0);
    try {
      await redis.publish(channel, LOUD_MESSAGE);
      const deadline = performance.now() + Math.max(this.#timeout, SILENCE_TIMEOUT);
      for (;;) {
        const [, count] = (await redis.pubsub("NUMSUB", channel)) as [string, number];
        if (count === 0) return true;
        if (performance.now() > deadline || this.#stopped) break;
        await Bun.sleep(SILENCE_POLL);
      }
      this.#lastError = "a node writing without events did not switch to the event scripts";
    } catch (err) {
      this.#failed(err instanceof Error ? err.message : String(err));
    }
    return false;
  }

  /**
   * Remembers why events don't flow, for the next failed watch. Refused by
   * an ACL, the watches waiting fail now, not after the start timeout, and
   * `/readyz` says what the user lacks.
   */
  #failed(reason: string): void {
    this.#lastError = reason;
    if (!REFUSED.test(reason)) return;
    this.#notes.set(
      WATCH_NOTE,
      `watches unavailable: ${reason}; the Redis user needs the channels kvfleet:* and ` +
        "__keyevent@*__:expired (&kvfleet:* &__keyevent@*__:expired, or allchannels) and " +
        "the commands SUBSCRIBE, SSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB",
    );
    const joining = [...this.#joining];
    this.#joining.clear();
    for (const { reject, timer } of joining) {
      clearTimeout(timer);
      reject(new Error(`change events from Redis refused: ${reason}`));
    }
  }

  /** Events flow: the `reset` owed to the listeners first, then the watches waiting join. */
  #flow(): void {
    this.#flowing = true;
    this.#notes.delete(WATCH_NOTE);
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
