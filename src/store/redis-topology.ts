/**
 * What the change feed (`redis-events.ts`) needs to know of the Redis it
 * watches: a Cluster's masters, whether the subscribers' confirmed slot
 * channels cover every slot, and where to probe the write scripts' publish.
 */
import type { Cluster, Redis, RedisOptions } from "ioredis";
import { SLOTS, singleChannel, slotChannel, slotKey } from "./redis-channels.ts";
import type { Subscriber } from "./redis-subscriber.ts";

/**
 * The masters of the Cluster by address, with the options of a connection
 * to each, from the client's slot map refreshed first (it otherwise lags a
 * failover or resharding by up to 5 s; a refresh that takes longer than
 * `timeout` leaves the map as it is).
 */
export async function clusterMasters(
  cluster: Cluster,
  timeout: number,
): Promise<Map<string, RedisOptions>> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeout);
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
  return masters;
}

/**
 * Why events can't flow yet, or undefined when they can: every subscriber
 * live and, on a Cluster, every slot's channel confirmed on one of them.
 * Only the slots a master holds by its own account are confirmed on it, so
 * a slot covered is a slot whose writes publish to a subscribed channel.
 */
export function uncovered(subs: readonly Subscriber[], cluster: boolean): string | undefined {
  if (subs.length === 0 || !subs.every((sub) => sub.live)) return "a subscriber is not connected";
  if (!cluster) return undefined;
  const covered = new Uint8Array(SLOTS);
  let count = 0;
  for (const sub of subs) {
    for (const slot of sub.slots) {
      if (covered[slot] === 1) continue;
      covered[slot] = 1;
      count++;
    }
  }
  return count === SLOTS ? undefined : `${SLOTS - count} slots not subscribed yet`;
}

/**
 * Where to probe that the write scripts can publish: a key that routes the
 * probe script and the channel it publishes on; on a Cluster one per master,
 * a slot each subscriber confirmed.
 */
export function probeTargets(
  client: Redis | Cluster,
  subs: readonly Subscriber[],
): [key: string, channel: string][] {
  if (!client.isCluster) {
    const channel = singleChannel((client as Redis).options.db ?? 0);
    return [[channel, channel]];
  }
  return subs.flatMap((sub) => {
    const slot = sub.slots.values().next().value;
    return slot === undefined ? [] : [[slotKey(slot), slotChannel(slot)]];
  });
}

/**
 * Slots the client's map gives `node`, each as its key and its channel, for
 * the clear script to publish on (the first one the master still holds):
 * the first slot of each of its ranges, at most 8.
 */
export function clearSlots(cluster: Cluster, node: Redis): string[] {
  const self = `${node.options.host}:${node.options.port}`;
  const out: string[] = [];
  for (let slot = 0; slot < cluster.slots.length && out.length < 16; slot++) {
    if (cluster.slots[slot]?.[0] !== self || cluster.slots[slot - 1]?.[0] === self) continue;
    out.push(slotKey(slot), slotChannel(slot));
  }
  return out;
}
