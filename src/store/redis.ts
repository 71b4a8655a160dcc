import calculateSlot from "cluster-key-slot";
import type { Cluster, Redis } from "ioredis";
import { Coalescer } from "./redis-batch.ts";
import { keyChannels, singleChannel, slotChannel } from "./redis-channels.ts";
import { RedisEvents } from "./redis-events.ts";
import { redisKeys } from "./redis-key-form.ts";
import { listKeys } from "./redis-keys.ts";
import { type Lane, openLane } from "./redis-lane.ts";
import { type Channels, ioredisRunner, type Operations, operations } from "./redis-operations.ts";
import { type Quiet, quietSwitch } from "./redis-quiet.ts";
import { defineScripts, scriptSources } from "./redis-scripts.ts";
import { clearSlots } from "./redis-topology.ts";
import type {
  AddStatus,
  AppendStatus,
  ChangeListener,
  ContainsStatus,
  ExpireStatus,
  GetResult,
  KeysPage,
  KeysQuery,
  PersistStatus,
  RemoveStatus,
  SetStatus,
  Store,
  StoreEvents,
  TtlResult,
} from "./store.ts";

export { connectRedis, type RedisStoreConfig } from "./redis-client.ts";

import { watchState } from "./redis-client.ts";

export { redisKey } from "./redis-key-form.ts";

/** Used when the client has no `commandTimeout`, as the config's default. */
const DEFAULT_TIMEOUT = 1000;

/**
 * The store on a Redis or a Redis Cluster shared by any number of kvfleet
 * nodes. kvfleet owns the logical database it is given: keys are stored as-is
 * (no prefix), and count and clear cover the whole database, so it must not
 * be shared with other applications.
 *
 * The keys of every call go through a `Coalescer` (redis-batch.ts), which
 * sends one command per operation, master and turn of the event loop. Each
 * key settles on its own: a failed or late key answers status 100 while the
 * others keep their result, and a call never waits longer than the client's
 * `commandTimeout`.
 */
export class RedisStore implements Store {
  readonly description: string;
  readonly #client: Redis | Cluster;
  readonly #timeout: number;
  readonly #batch: Coalescer;
  readonly #ops: Operations;
  readonly #events: RedisEvents;
  /** A single Redis's event channel; a Cluster has one per slot. */
  readonly #channel: string;
  /** Calls waiting for the client to become ready. */
  readonly #waiting = new Set<() => void>();
  /** True once every master of the ready client has every script (see `scriptSources`). */
  #scriptsLoaded = false;
  /** A single Redis's per-key commands' own connection (see `redis-lane.ts`); none on a Cluster. */
  readonly #lane: Lane | null;
  /** Whether lone writes may skip the event scripts (see `redis-quiet.ts`); none on a Cluster. */
  readonly #quiet: Quiet | null;

  constructor(client: Redis | Cluster, events?: StoreEvents) {
    this.#client = client;
    defineScripts(client);
    client.on("ready", () => {
      this.#scriptsLoaded = false;
      void this.#loadScripts().then(() => {
        this.#scriptsLoaded = true;
        this.#wake();
      });
    });
    if (events !== undefined) watchState(client, events);
    // A node joining later (a new replica, a master after a resharding) gets them at once.
    if (client.isCluster) client.on("+node", (node: Redis) => void loadInto([node], true));
    const options = client.isCluster
      ? (client as Cluster).options.redisOptions
      : (client as Redis).options;
    this.#timeout = options?.commandTimeout ?? DEFAULT_TIMEOUT;
    this.description = client.isCluster ? "redis-cluster" : "redis";
    this.#channel = singleChannel(client.isCluster ? 0 : ((client as Redis).options.db ?? 0));
    this.#lane = client.isCluster ? null : openLane(client as Redis, () => this.#wake());
    this.#quiet = this.#lane === null ? null : quietSwitch(client as Redis, this.#lane);
    const runner = this.#lane?.runner ?? ioredisRunner(client);
    const quiet = this.#quiet;
    const isQuiet = quiet === null ? undefined : () => quiet.on;
    this.#ops = operations(runner, client.isCluster, this.#channels(), isQuiet);
    this.#batch = new Coalescer(
      client,
      this.#timeout,
      () => this.#whenReady(),
      () => this.#isReady(),
    );
    this.#events = new RedisEvents(client, this.#timeout);
  }

  set(keys: readonly string[], values: readonly string[], ttl?: number): Promise<SetStatus[]> {
    if (ttl === undefined) return this.#batch.submit(this.#ops.set, redisKeys(keys), values);
    return this.#batch.submit(this.#ops.setPx, redisKeys(keys), values, ttl);
  }

  add(keys: readonly string[], values: readonly string[], ttl?: number): Promise<AddStatus[]> {
    if (ttl === undefined) return this.#batch.submit(this.#ops.add, redisKeys(keys), values);
    return this.#batch.submit(this.#ops.addPx, redisKeys(keys), values, ttl);
  }

  get(keys: readonly string[]): Promise<GetResult[]> {
    return this.#batch.submit(this.#ops.get, redisKeys(keys));
  }

  remove(keys: readonly string[]): Promise<RemoveStatus[]> {
    return this.#batch.submit(this.#ops.remove, redisKeys(keys));
  }

  contains(keys: readonly string[]): Promise<ContainsStatus[]> {
    return this.#batch.submit(this.#ops.contains, redisKeys(keys));
  }

  append(keys: readonly string[], values: readonly string[]): Promise<AppendStatus[]> {
    return this.#batch.submit(this.#ops.append, redisKeys(keys), values);
  }

  expire(keys: readonly string[], ms: readonly number[]): Promise<ExpireStatus[]> {
    return this.#batch.submit(this.#ops.expire, redisKeys(keys), undefined, ms);
  }

  persist(keys: readonly string[]): Promise<PersistStatus[]> {
    return this.#batch.submit(this.#ops.persist, redisKeys(keys));
  }

  ttl(keys: readonly string[]): Promise<TtlResult[]> {
    return this.#batch.submit(this.#ops.ttl, redisKeys(keys));
  }

  /** SCAN, a bounded number of round trips per call (see `redis-keys.ts`). */
  keys(query: KeysQuery): Promise<KeysPage | null> {
    return this.#wholeStore("keys", () => listKeys(this.#client, this.description, query));
  }

  count(): Promise<number> {
    return this.#whole("count", (node) => node.dbsize());
  }

  /** CLEAR_LUA on each master, publishing the `clear` event (see `redis-events-lua.ts`). */
  clear(): Promise<number> {
    if (!this.#client.isCluster) {
      return this.#whole("clear", (node) => node.kvfleetClear(this.#channel));
    }
    const cluster = this.#client as Cluster;
    const id = crypto.randomUUID().slice(0, 8);
    return this.#whole("clear", (node) => {
      defineScripts(node, true);
      return node.kvfleetClear(id, ...clearSlots(cluster, node));
    });
  }

  /**
   * Every change applied from now on, by any node: the write scripts publish
   * them, and this node subscribes while anyone watches (`redis-events.ts`).
   */
  watch(listener: ChangeListener): Promise<() => Promise<void>> {
    return this.#events.watch(listener);
  }

  /**
   * What `/readyz` should add to its answer: how to turn on what Redis keeps
   * from working (expire events without `notify-keyspace-events Ex`, events
   * at all without the channels in the ACL). Empty when all is well, and
   * before anyone has watched (only watching finds out).
   */
  notes(): string[] {
    return this.#events.notes();
  }

  async ready(): Promise<boolean> {
    if (!this.#isReady()) return false;
    try {
      const nodes = this.#nodes();
      const replies = await this.#deadline(Promise.all(nodes.map((n) => n.ping())), "ping");
      return replies.every((reply) => reply === "PONG");
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.#events.close();
    this.#quiet?.stop();
    this.#lane?.connection.close();
    try {
      await this.#deadline(this.#client.quit(), "quit");
    } catch {
      this.#client.disconnect();
    }
  }

  /**
   * Resolves true once the client is ready, false when the timeout passes
   * first. Commands are only sent to a ready client (the offline queues are
   * off), so a command answered 100 is never replayed later behind newer
   * writes, and waiting batches are bounded by the timeout.
   */
  #whenReady(): Promise<boolean> {
    if (this.#isReady()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#waiting.delete(wake);
        resolve(false);
      }, this.#timeout);
      this.#waiting.add(wake);
    });
  }

  /** Whether lone writes go out as the plain commands now: nobody watches (see `redis-quiet.ts`). */
  get quiet(): boolean {
    return this.#quiet?.on ?? false;
  }

  /** Ready for per-key commands: on a single Redis, its lane; on a Cluster, ioredis with the scripts. */
  #isReady(): boolean {
    if (this.#lane !== null) return this.#lane.connection.ready && this.#client.status === "ready";
    return this.#scriptsLoaded && this.#client.status === "ready";
  }

  #wake(): void {
    if (!this.#isReady()) return;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const wake of waiting) wake();
  }

  /**
   * Loads the scripts into every master, so that no command waits behind a
   * NOSCRIPT retry. A node that fails to load them still gets commands:
   * ioredis's EVAL fallback then serves it, as before.
   */
  async #loadScripts(): Promise<void> {
    // Replicas too: Redis 7 does not replicate SCRIPT LOAD, and a replica may become a master.
    const nodes = this.#client.isCluster
      ? (this.#client as Cluster).nodes("all")
      : [this.#client as Redis];
    await loadInto(nodes, this.#client.isCluster);
  }

  /** Sums a per-node count over every master's database. */
  #whole(what: string, run: (node: Redis) => Promise<number>): Promise<number> {
    return this.#wholeStore(what, async () => {
      const counts = await Promise.all(this.#nodes().map(run));
      return counts.reduce((sum, n) => sum + n, 0);
    });
  }

  /**
   * Runs a command on the whole store once the client is ready, within the
   * timeout, after what this turn gathered, so that it sees the writes asked
   * for before it.
   */
  #wholeStore<T>(what: string, run: () => Promise<T>): Promise<T> {
    this.#batch.flushNow();
    // The lane's PING answers after the per-key commands sent before it ran.
    const sent = this.#lane?.connection.ready ? this.#lane.connection.send(["PING"]) : null;
    const done = this.#whenReady().then(async (ready) => {
      if (!ready) throw new Error(`Redis is ${this.#client.status}`);
      await sent?.catch(() => {});
      return run();
    });
    return this.#deadline(done, what);
  }

  /**
   * The single Redis, or the masters of a ready cluster: before it is ready
   * the client knows only its seed nodes, which need not be every master.
   */
  #nodes(): Redis[] {
    if (!this.#client.isCluster) return [this.#client as Redis];
    const cluster = this.#client as Cluster;
    if (cluster.status !== "ready") throw new Error(`Redis Cluster is ${cluster.status}`);
    return cluster.nodes("master");
  }

  /** The event channel(s) of a group's keys or of one key (see `redis-channels.ts`). */
  #channels(): Channels {
    if (this.#client.isCluster) {
      slotChannel(0); // builds the channel table now, not in the first write's turn
      return { of: keyChannels, one: (key) => slotChannel(calculateSlot(key)) };
    }
    const channel = this.#channel;
    const all = [channel];
    return { of: () => all, one: () => channel };
  }

  #deadline<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not answer ${what} within ${this.#timeout} ms`)),
        this.#timeout,
      );
    });
    return Promise.race([promise, late]).finally(() => clearTimeout(timer));
  }
}

/**
 * Loads every script into `nodes`. A node that fails to load them still gets
 * commands: ioredis's EVAL fallback then serves it.
 */
async function loadInto(nodes: Redis[], cluster: boolean): Promise<void> {
  const sources = scriptSources(cluster);
  try {
    await Promise.all(nodes.flatMap((node) => sources.map((lua) => node.script("LOAD", lua))));
  } catch {
    // Served by the fallback; readiness must not hang on it.
  }
}
