import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { StoreConfig } from "../config/config.ts";
import type { StoreEvents } from "./store.ts";
import { polyfillTracingChannel } from "./tracing-polyfill.ts";

/** How often a Cluster client asks for the topology, to find nodes that joined since. */
const SLOTS_REFRESH_MS = 2_000;

/** The `redis` variant of the store configuration. */
export type RedisStoreConfig = Extract<StoreConfig, { type: "redis" }>;

/** Reconnect forever, never waiting more than a second, so service comes back by itself. */
export const backoff = (times: number): number => Math.min(times * 100, 1000);

/** A half-open connection sends no `close`: a PING this often turns it into one. */
const PING_EVERY = 5000;

/** A pub/sub connection of `pubsub` and what stops its PINGs. */
export interface PubSub {
  readonly redis: Redis;
  readonly stopPings: () => void;
}

/**
 * A connection of its own for pub/sub, to the Redis of `options`: no
 * automatic resubscription (ioredis resubscribes without waiting for the
 * confirmations, so its `ready` would not mean messages flow; the owner
 * subscribes on `ready`), nothing queued or resent, reconnecting forever,
 * and a PING every 5 s so that a half-open connection ends in `close`,
 * which is how its owner learns of every drop (errors are not printed).
 */
export function pubsub(options: RedisOptions, own: RedisOptions): PubSub {
  const redis = new Redis({
    ...options,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    enableAutoPipelining: false,
    maxRetriesPerRequest: 0,
    retryStrategy: backoff,
    ...own,
  });
  redis.on("error", () => {});
  const pinger = setInterval(() => {
    if (redis.status === "ready") redis.ping().catch(() => redis.disconnect(true));
  }, PING_EVERY);
  return { redis, stopPings: () => clearInterval(pinger) };
}

/**
 * Builds the ioredis client the configuration names: `url` gives a single
 * Redis (`rediss://` turns TLS on, user and password come from the URL),
 * `cluster` gives a Redis Cluster from its seed URLs (credentials and TLS
 * taken from the first). Never throws for an unreachable Redis: the client
 * connects in the background and keeps reconnecting, and every command
 * answers within `commandTimeout`. Client errors go to `onError` (ignored by
 * default) instead of ioredis's "Unhandled error event" print.
 */
export function connectRedis(
  config: RedisStoreConfig,
  onError: (err: Error) => void = () => {},
): Redis | Cluster {
  polyfillTracingChannel();
  const timeout = config.commandTimeout;
  const common: RedisOptions = {
    commandTimeout: timeout,
    connectTimeout: Math.max(timeout, 1000),
    // A command in flight when the connection dropped may have run: sending
    // it again could append twice, and its caller already got status 100.
    autoResendUnfulfilledCommands: false,
    // A lost connection fails its pending commands at once (status 100)
    // instead of holding them for 20 reconnect attempts.
    maxRetriesPerRequest: 0,
  };
  // No offline queue: a queued command that already timed out would still
  // run once Redis is back, behind newer writes, and the cluster's queue is
  // never flushed while it reconnects. RedisStore waits (at most
  // commandTimeout) for the client to be ready instead. ioredis forces the
  // queue on for a cluster's node clients; maxRetriesPerRequest empties it.
  // No auto-pipelining: RedisStore already sends one command per group of keys, and
  // ioredis's deferral to the next turn would delay a lone request's write.
  const queue = { enableOfflineQueue: false, enableAutoPipelining: false };

  let client: Redis | Cluster;
  if ("cluster" in config) {
    const seeds = config.cluster.map((url) => new URL(url));
    const first = seeds[0] as URL;
    client = new Cluster(
      seeds.map((seed) => ({ host: hostOf(seed), port: Number(seed.port || 6379) })),
      {
        ...queue,
        scaleReads: "master",
        clusterRetryStrategy: backoff,
        clusterNodeRetryStrategy: backoff,
        slotsRefreshTimeout: timeout,
        // Otherwise ioredis learns of a replica attached after its last refresh only when
        // a failover promotes it, and the scripts reach it (on +node) after the first
        // commands: a NOSCRIPT whose EVAL retry can reorder a key's writes.
        slotsRefreshInterval: SLOTS_REFRESH_MS,
        redisOptions: {
          ...common,
          ...credentials(first),
          ...(first.protocol === "rediss:" ? { tls: {} } : {}),
        },
      },
    );
    client.on("node error", (err: Error) => onError(err));
  } else {
    client = new Redis(config.url, { ...common, ...queue, retryStrategy: backoff });
  }
  client.on("error", (err: Error) => onError(err));
  return client;
}

/** URL host without the brackets of an IPv6 literal. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

function credentials(url: URL): { username?: string; password?: string } {
  const out: { username?: string; password?: string } = {};
  if (url.username !== "") out.username = decodeURIComponent(url.username);
  if (url.password !== "") out.password = decodeURIComponent(url.password);
  return out;
}

/** Reports transitions only: a Redis that stays down errors on every reconnect attempt. */
export function watchState(client: Redis | Cluster, events: StoreEvents): void {
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
