import type { Redis, RedisOptions } from "ioredis";
import { expiredChannel, SLOTS, singleChannel, slotChannel } from "./redis-channels.ts";
import { pubsub } from "./redis-client.ts";

/** What a subscriber reports to the feed that owns it (`redis-events.ts`). */
export interface SubscriberHandlers {
  /** A message on an event channel. */
  message(from: Subscriber, message: Buffer): void;
  /** An expired-key notification: the message is the key. */
  expired(from: Subscriber, message: Buffer): void;
  /** Connected (again): the feed should sync it. */
  ready(from: Subscriber): void;
  /** Events this connection carried may have been missed: it closed, or a slot moved away. */
  lost(from: Subscriber): void;
  /** A line for `/readyz` about this Redis, or undefined to drop the last one. */
  note(address: string, text: string | undefined): void;
}

/** Bounds subscribing a master's 5461 slots in one pipeline on a loaded machine, and a PING. */
const SUBSCRIBER_TIMEOUT = 10_000;

/**
 * One subscriber connection to one Redis (a single Redis, or one Cluster
 * master), carrying both the event channel(s) and the expired-key
 * notifications. Both on one connection is what keeps a key's `expire` in
 * order with its writes: Redis publishes the notification when it deletes
 * the key, inside the command or between commands, and one connection
 * delivers in the order Redis published.
 *
 * ioredis's automatic resubscription is off: it resubscribes without waiting
 * for the confirmations, so its `ready` would not mean events flow. The feed
 * calls `sync()` instead, which resolves once Redis confirmed every
 * subscription. RESP3 lets the subscribed connection run other commands
 * (CLUSTER NODES, CLIENT INFO, CONFIG), whose replies come in order with the
 * messages.
 */
export class Subscriber {
  readonly address: string;
  readonly #redis: Redis;
  readonly #cluster: boolean;
  readonly #db: number;
  readonly #handlers: SubscriberHandlers;
  /** Slots whose channel Redis confirmed on this connection, as far as this node knows. */
  readonly slots = new Set<number>();
  /** Since the connection last came up: the plain SUBSCRIBE is confirmed. */
  #subscribed = false;
  #configured = false;
  #stopped = false;
  readonly #stopPings: () => void;

  constructor(options: RedisOptions, cluster: boolean, handlers: SubscriberHandlers) {
    this.#cluster = cluster;
    this.#db = cluster ? 0 : (options.db ?? 0);
    this.#handlers = handlers;
    this.address = `${options.host ?? "localhost"}:${options.port ?? 6379}`;
    const { redis, stopPings } = pubsub(options, {
      lazyConnect: false,
      commandTimeout: SUBSCRIBER_TIMEOUT,
      connectionName: "kvfleet-events",
      protocol: 3,
    });
    this.#redis = redis;
    this.#stopPings = stopPings;
    redis.on("ready", () => {
      this.#forget();
      if (!this.#stopped) handlers.ready(this);
    });
    redis.on("close", () => {
      const had = this.#subscribed || this.slots.size > 0;
      this.#forget();
      if (had && !this.#stopped) handlers.lost(this);
    });
    // An unsolicited SUNSUBSCRIBE (a slot left this master) or MOVED to an SSUBSCRIBE.
    redis.on("moved", () => {
      if (!this.#stopped) handlers.lost(this);
    });
    redis.on("messageBuffer", (channel: Buffer, message: Buffer) => {
      // `_` starts only `__keyevent@<db>__:expired`, `k` the event channel.
      if (channel[0] === 0x5f) handlers.expired(this, message);
      else handlers.message(this, message);
    });
    redis.on("smessageBuffer", (_channel: Buffer, message: Buffer) => {
      handlers.message(this, message);
    });
  }

  /** Connected, with the subscriptions `sync` confirmed still in place as far as this node knows. */
  get live(): boolean {
    return this.#redis.status === "ready" && this.#subscribed;
  }

  get connected(): boolean {
    return this.#redis.status === "ready";
  }

  /**
   * Subscribes to what this connection must carry and resolves once Redis
   * confirmed it: on a single Redis its event channel and the expired
   * channel; on a Cluster master the expired channel and the channel of
   * every slot the master holds by its own account (CLUSTER NODES on this
   * connection, so in order with the SUNSUBSCRIBE pushes of slots it lost).
   * Resolves false when the subscriptions are not what they should be yet
   * (a slot moved meanwhile), for the feed to try again.
   */
  async sync(): Promise<boolean> {
    const redis = this.#redis;
    if (!this.#configured) await this.#enableExpiry();
    if (!this.#cluster) {
      await redis.subscribe(singleChannel(this.#db), expiredChannel(this.#db));
      this.#subscribed = true;
      return true;
    }
    // Again on every sync, though already subscribed: when a master loses its last
    // slot channel, ioredis forgets it is subscribed and drops messages until a
    // subscription is confirmed again.
    const [, nodes] = await Promise.all([
      redis.subscribe(expiredChannel(0)),
      redis.cluster("NODES") as Promise<string>,
    ]);
    this.#subscribed = true;
    const held = heldSlots(nodes);
    for (const slot of this.slots) if (held[slot] !== 1) this.slots.delete(slot);
    const missing: number[] = [];
    for (let slot = 0; slot < SLOTS; slot++) {
      if (held[slot] === 1 && !this.slots.has(slot)) missing.push(slot);
    }
    if (missing.length > 0) {
      const pipeline = redis.pipeline();
      for (const slot of missing) pipeline.ssubscribe(slotChannel(slot));
      const replies = (await pipeline.exec()) ?? [];
      replies.forEach(([err], i) => {
        if (err === null) this.slots.add(missing[i] as number);
      });
    }
    // A slot that left and came back between two syncs looks subscribed but is
    // not: Redis's own count of this connection's shard channels tells.
    const info = (await redis.client("INFO")) as string;
    const ssub = Number(/ ssub=(\d+)/.exec(info)?.[1] ?? -1);
    if (ssub === this.slots.size) return true;
    this.slots.clear();
    return false;
  }

  /** Unsubscribes from everything, confirmed, then closes the connection. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopPings();
    const redis = this.#redis;
    try {
      if (redis.status === "ready") {
        await Promise.all([
          redis.unsubscribe(),
          this.#cluster && this.slots.size > 0 ? redis.sunsubscribe() : undefined,
        ]);
        await redis.quit();
      }
    } catch {
      // Closing anyway: a closed connection holds no subscription.
    }
    redis.disconnect();
  }

  #forget(): void {
    this.#subscribed = false;
    this.#configured = false;
    this.slots.clear();
  }

  /**
   * Expire events need keyspace notifications of expired keys (`E` and `x`,
   * or `A`). A server-wide setting others may rely on: kvfleet adds the
   * letters it lacks, never replaces it. Where CONFIG is refused (an ACL,
   * a managed Redis), watches work without expire events and `/readyz`
   * says how to turn them on.
   */
  async #enableExpiry(): Promise<void> {
    const redis = this.#redis;
    const how = 'set notify-keyspace-events to include "Ex" in the Redis configuration';
    let flags: string;
    try {
      const reply = (await redis.config("GET", "notify-keyspace-events")) as unknown;
      flags = configValue(reply);
    } catch (err) {
      this.#note(
        `expire events unknown on ${this.address}: CONFIG GET refused (${text(err)}); ${how}`,
      );
      this.#configured = true;
      return;
    }
    const missing = `${flags.includes("E") ? "" : "E"}${/[xA]/.test(flags) ? "" : "x"}`;
    try {
      if (missing !== "") await redis.config("SET", "notify-keyspace-events", flags + missing);
      this.#note(undefined);
    } catch (err) {
      this.#note(`expire events off on ${this.address}: CONFIG SET refused (${text(err)}); ${how}`);
    }
    this.#configured = true;
  }

  #note(line: string | undefined): void {
    this.#handlers.note(this.address, line);
  }
}

/** CONFIG GET's reply: a map in RESP3, a flat array in RESP2. */
function configValue(reply: unknown): string {
  if (Array.isArray(reply)) return String(reply[1] ?? "");
  if (reply instanceof Map) return String([...reply.values()][0] ?? "");
  if (reply !== null && typeof reply === "object") return String(Object.values(reply)[0] ?? "");
  return "";
}

const text = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The slots a master holds by its own `myself` line of CLUSTER NODES (`0-5460`,
 * `5461`; `[slot->-id]` marks a migration); none when it is not a master.
 */
function heldSlots(nodes: string): Uint8Array {
  const bits = new Uint8Array(SLOTS);
  const mine = nodes.split("\n").find((line) => line.split(" ")[2]?.split(",").includes("myself"));
  if (mine === undefined || !mine.split(" ")[2]?.split(",").includes("master")) return bits;
  for (const field of mine.split(" ").slice(8)) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(field.trim());
    if (range !== null) bits.fill(1, Number(range[1]), Number(range[2] ?? range[1]) + 1);
  }
  return bits;
}
