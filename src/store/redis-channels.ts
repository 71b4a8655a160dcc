/**
 * The pub/sub channels change events travel on, and the messages the write
 * scripts publish there (see `redis-events-lua.ts`), decoded on the
 * watching node (`redis-events.ts`).
 */
import calculateSlot from "cluster-key-slot";
import { protocolKey } from "./redis-key-form.ts";
import type { Change } from "./store.ts";

export const SLOTS = 16384;

/**
 * A single Redis's event channel. Pub/sub ignores the database number, so it
 * is in the name: fleets on two databases of one Redis see only their own.
 */
export const singleChannel = (db: number) => `kvfleet:ev:${db}`;

/**
 * The channel quiet nodes subscribe to (see `redis-quiet.ts`), and the
 * messages of the switch: `loud` on it from a node starting to watch,
 * `lost` on the event channel from a node that may have written unseen.
 */
export const quietChannel = (db: number) => `kvfleet:quiet:${db}`;
export const LOUD_MESSAGE = "loud";
export const LOST_MESSAGE = "l";

/** Where Redis announces expired keys (keyspace notifications, `Ex`). */
export const expiredChannel = (db: number) => `__keyevent@${db}__:expired`;

/** A slot's hash tag and its event channel, built once (see `slotTables`). */
let tables: { readonly tags: string[]; readonly channels: string[] } | undefined;

/**
 * The hash tag of each slot: the smallest whole number whose decimal text
 * hashes to it. Every node derives the same table (in about 50 ms, once, on
 * a Cluster only), so nodes agree on channel names without a table in the
 * source. The channel names are built with it, so that a group's script
 * costs a lookup per key, not a string.
 */
function slotTables(): { readonly tags: string[]; readonly channels: string[] } {
  if (tables !== undefined) return tables;
  const tags = new Array<string>(SLOTS);
  for (let i = 0, left = SLOTS; left > 0; i++) {
    const text = String(i);
    const slot = calculateSlot(text);
    if (tags[slot] === undefined) {
      tags[slot] = text;
      left--;
    }
  }
  tables = { tags, channels: tags.map((tag) => `kvfleet:ev:{${tag}}`) };
  return tables;
}

/** A key of `slot` (the tag alone), for routing or locality tests. */
export const slotKey = (slot: number) => `{${slotTables().tags[slot]}}`;

/**
 * A Cluster's event channel of one slot. SPUBLISH is sharded by the channel's
 * slot, so the script that writes a key publishes on its master only, to the
 * channel of the key's own slot, which is local whenever the key is.
 */
export const slotChannel = (slot: number) => slotTables().channels[slot] as string;

/** The channel of each key's slot, for a group's script (ARGV after the keys' columns). */
export function keyChannels(keys: readonly string[]): string[] {
  const { channels } = slotTables();
  return keys.map((key) => channels[calculateSlot(key)] as string);
}

/**
 * What a message on an event channel says. The scripts write the op letter,
 * the Redis key's length in bytes, `:`, the key, then the value: keys are
 * any bytes and values JSON text, and this needs no escaping either way.
 * `c` is a clear (with an id in a Cluster, the same on every master), `l`
 * a node that may have written without events (`LOST_MESSAGE`), `p` a
 * watch's probe, which nobody acts on.
 */
export type Decoded =
  | Change
  | { readonly op: "clear"; readonly id: string }
  | { readonly op: "lost" }
  | undefined;

const S = 0x73; // s: set
const A = 0x61; // a: append
const R = 0x72; // r: rmv
const C = 0x63; // c: clear
const L = 0x6c; // l: lost
const COLON = 0x3a;

/** The change a message describes, or undefined (a probe, a key kvfleet did not write). */
export function decodeMessage(message: Buffer): Decoded {
  const op = message[0];
  if (op === C) return { op: "clear", id: message.toString("latin1", 1) };
  if (op === L) return message.length === 1 ? { op: "lost" } : undefined;
  if (op !== S && op !== A && op !== R) return undefined;
  let length = 0;
  let i = 1;
  for (let c = message[i]; c !== COLON; c = message[++i]) {
    if (c === undefined || c < 0x30 || c > 0x39) return undefined;
    length = length * 10 + c - 0x30;
  }
  const start = i + 1;
  const key = protocolKey(message.toString("utf8", start, start + length));
  if (key === undefined) return undefined;
  if (op === R) return { op: "rmv", key };
  const value = message.toString("utf8", start + length);
  return op === S ? { op: "set", key, value } : { op: "append", key, value };
}

/** The change an expired-key notification describes (its message is the key). */
export function decodeExpired(message: Buffer): Change | undefined {
  const key = protocolKey(message.toString("utf8"));
  return key === undefined ? undefined : { op: "expire", key };
}
