import type { Cluster, Redis } from "ioredis";
import { Status } from "../protocol/status.ts";
import { defineScripts } from "./redis-scripts.ts";
import type {
  AddStatus,
  AppendStatus,
  ContainsStatus,
  GetResult,
  RemoveStatus,
  SetStatus,
  Store,
  StoreEvents,
} from "./store.ts";

export { connectRedis, type RedisStoreConfig } from "./redis-client.ts";

type Failed = typeof Status.Unknown;

/** Used when the client has no `commandTimeout`, as the config's default. */
const DEFAULT_TIMEOUT = 1000;

/**
 * The store on a Redis or a Redis Cluster shared by any number of kvfleet
 * nodes. kvfleet owns the logical database it is given: keys are stored as-is
 * (no prefix), and count and clear cover the whole database, so it must not
 * be shared with other applications.
 *
 * A batch issues all its commands in the same tick; with auto-pipelining the
 * client sends them in one write per node, so K keys cost about one round
 * trip, not K. Each key settles on its own: a failed or late key answers
 * status 100 while the others keep their result, and a batch never waits
 * longer than the client's `commandTimeout`.
 */
export class RedisStore implements Store {
  readonly description: string;
  readonly #client: Redis | Cluster;
  readonly #timeout: number;
  /** Batches waiting for the client to become ready. */
  readonly #waiting = new Set<() => void>();

  constructor(client: Redis | Cluster, events?: StoreEvents) {
    this.#client = client;
    defineScripts(client);
    client.on("ready", () => {
      const waiting = [...this.#waiting];
      this.#waiting.clear();
      for (const wake of waiting) wake();
    });
    if (events !== undefined) watchState(client, events);
    const options = client.isCluster
      ? (client as Cluster).options.redisOptions
      : (client as Redis).options;
    this.#timeout = options?.commandTimeout ?? DEFAULT_TIMEOUT;
    this.description = client.isCluster ? "redis-cluster" : "redis";
  }

  set(keys: readonly string[], values: readonly string[]): Promise<SetStatus[]> {
    return this.#batch(keys, (key, i) =>
      this.#client
        .kvfleetSet(key, values[i] as string)
        .then((existed) => (existed === 1 ? Status.KeyUpdated : Status.KeySet)),
    );
  }

  add(keys: readonly string[], values: readonly string[]): Promise<AddStatus[]> {
    return this.#batch(keys, (key, i) =>
      this.#client
        .set(key, values[i] as string, "NX")
        .then((ok) => (ok === null ? Status.KeyExists : Status.KeySet)),
    );
  }

  get(keys: readonly string[]): Promise<GetResult[]> {
    return this.#batch(keys, (key) =>
      this.#client.get(key).then((value) => value ?? Status.KeyNotExist),
    );
  }

  remove(keys: readonly string[]): Promise<RemoveStatus[]> {
    return this.#batch(keys, (key) =>
      this.#client.del(key).then((n) => (n === 1 ? Status.KeyRemoved : Status.KeyNotExist)),
    );
  }

  contains(keys: readonly string[]): Promise<ContainsStatus[]> {
    return this.#batch(keys, (key) =>
      this.#client.exists(key).then((n) => (n === 1 ? Status.KeyExists : Status.KeyNotExist)),
    );
  }

  append(keys: readonly string[], values: readonly string[]): Promise<AppendStatus[]> {
    return this.#batch(keys, (key, i) =>
      this.#client.kvfleetAppend(key, values[i] as string).then(appendStatus),
    );
  }

  count(): Promise<number> {
    return this.#whole("count", (node) => node.dbsize());
  }

  clear(): Promise<number> {
    return this.#whole("clear", (node) => {
      defineScripts(node);
      return node.kvfleetClear();
    });
  }

  async ready(): Promise<boolean> {
    if (this.#client.status !== "ready") return false;
    try {
      const nodes = this.#nodes();
      const replies = await this.#deadline(Promise.all(nodes.map((n) => n.ping())), "ping");
      return replies.every((reply) => reply === "PONG");
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    try {
      await this.#deadline(this.#client.quit(), "quit");
    } catch {
      this.#client.disconnect();
    }
  }

  /**
   * Starts one command per key in the same tick, so they share a pipeline,
   * and answers each key's result in order, or 100 for a key that failed or
   * is still pending at the deadline (ioredis arms its own timer only once a
   * command is sent).
   */
  #batch<T>(
    keys: readonly string[],
    run: (key: string, i: number) => Promise<T>,
  ): Promise<(T | Failed)[]> {
    const out: (T | Failed)[] = new Array(keys.length).fill(Status.Unknown);
    if (keys.length === 0) return Promise.resolve(out);
    // The common case pays for no readiness promise.
    if (this.#client.status === "ready") return this.#run(keys, run, out, this.#timeout);
    const start = performance.now();
    return this.#whenReady().then((ready) =>
      ready ? this.#run(keys, run, out, this.#timeout - (performance.now() - start)) : out,
    );
  }

  #run<T>(
    keys: readonly string[],
    run: (key: string, i: number) => Promise<T>,
    out: (T | Failed)[],
    left: number,
  ): Promise<(T | Failed)[]> {
    return new Promise((resolve) => {
      let pending = keys.length;
      const timer = setTimeout(() => resolve(out.slice()), left);
      const settle = () => {
        if (--pending > 0) return;
        clearTimeout(timer);
        resolve(out);
      };
      for (let i = 0; i < keys.length; i++) {
        run(redisKey(keys[i] as string), i).then((result) => {
          out[i] = result;
          settle();
        }, settle);
      }
    });
  }

  /**
   * Resolves true once the client is ready, false when the timeout passes
   * first. Commands are only sent to a ready client (the offline queues are
   * off), so a command answered 100 is never replayed later behind newer
   * writes, and waiting batches are bounded by the timeout.
   */
  #whenReady(): Promise<boolean> {
    if (this.#client.status === "ready") return Promise.resolve(true);
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

  /** Sums a per-node count over every master's database. */
  #whole(what: string, run: (node: Redis) => Promise<number>): Promise<number> {
    const counted = this.#whenReady().then(async (ready) => {
      if (!ready) throw new Error(`Redis is ${this.#client.status}`);
      const counts = await Promise.all(this.#nodes().map(run));
      return counts.reduce((sum, n) => sum + n, 0);
    });
    return this.#deadline(counted, what);
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
 * The Redis key of a protocol key. Redis keys are bytes and ioredis writes
 * strings as UTF-8, which has no form for a lone surrogate: `"\ud800"` and
 * `"\udc00"` would both become U+FFFD and collide. Such keys, and keys that
 * start with NUL, are stored as NUL followed by their JSON text instead, a
 * form no key of the first kind can take.
 */
export function redisKey(key: string): string {
  return key.isWellFormed() && key.charCodeAt(0) !== 0 ? key : `\u0000${JSON.stringify(key)}`;
}

function appendStatus(reply: 1 | 22 | 41): AppendStatus {
  if (reply === 1) return Status.Ok;
  return reply === 22 ? Status.KeyNotExist : Status.ValueTypeInvalid;
}

/** Reports transitions only: a Redis that stays down errors on every reconnect attempt. */
function watchState(client: Redis | Cluster, events: StoreEvents): void {
  let up: boolean | undefined;
  let reason = "not connected";
  const down = () => {
    if (up === false) return;
    up = false;
    events.down(reason);
  };
  client.on("ready", () => {
    if (up === true) return;
    up = true;
    events.up();
  });
  client.on("error", (err: Error) => {
    reason = err.message;
    if (up === undefined) down();
  });
  client.on("close", down);
}
