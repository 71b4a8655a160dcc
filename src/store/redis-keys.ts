import type { Cluster, Redis } from "ioredis";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { type Phase, phases } from "./redis-key-form.ts";
import type { KeysPage, KeysQuery } from "./store.ts";

/**
 * KV_KEYS on Redis: SCAN (never KEYS), a bounded number of round trips per
 * call, and a cursor that holds the listing's position (see `Position`).
 */

/** Cluster slots; a single Redis is one master holding them all. */
const SLOTS = 16384;
/** SCAN round trips per call: bounded work, then a shorter page with a cursor. */
const MAX_SCANS = 8;
/** The most keys one SCAN is asked to walk (COUNT), for a prefix that matches few. */
const MAX_COUNT = 1000;
/** Surplus past `limit` worth carrying in the cursor; a bigger one is scanned again smaller. */
const MAX_CARRY = 32;
/** The run_id characters a cursor keeps: enough to tell two Redis processes apart. */
const RUN_ID = 16;

/**
 * Where a listing is. Slot sets are sorted flat [from, to, from, to...] ranges.
 * `d`: slots whose keys were all listed. `s`: a slot of the master being
 * listed (the lowest not done when it started), which names that master
 * whatever its address. `o`: the slots it held, by its own account, after
 * its first SCAN. `r`: its run_id prefix, "" before its first SCAN: a SCAN
 * cursor means something only to the process that made it (each Redis
 * seeds its hash function at random), so a master that is another process
 * now (restart, failover) is listed again from 0. `p`, `c`: the pass and its
 * SCAN cursor. `k`: keys found and not yet returned. `s` is -1 once every
 * slot is done.
 */
interface Position {
  d: number[];
  s: number;
  o: number[];
  r: string;
  p: number;
  c: string;
  k: string[];
}

/** The master serving each slot, by the client's slot map (which routes every command). */
interface Layout {
  owner(slot: number): Redis | undefined;
  /** Asks the client to read the slot map anew: a master no longer holds what the map says. */
  stale(): void;
  readonly cluster: boolean;
}

function layout(client: Redis | Cluster): Layout {
  if (!client.isCluster) return { owner: () => client as Redis, stale() {}, cluster: false };
  const cluster = client as Cluster;
  if (cluster.status !== "ready") throw new Error(`Redis Cluster is ${cluster.status}`);
  const byAddress = new Map<string, Redis>();
  for (const node of cluster.nodes("master")) {
    byAddress.set(`${node.options.host}:${node.options.port}`, node);
  }
  return {
    owner(slot) {
      const address = cluster.slots[slot]?.[0];
      return address === undefined ? undefined : byAddress.get(address);
    },
    stale: () => cluster.refreshSlotsCache(),
    cluster: true,
  };
}

function toBits(ranges: readonly number[]): Uint8Array {
  const bits = new Uint8Array(SLOTS);
  for (let i = 0; i < ranges.length; i += 2) {
    bits.fill(1, ranges[i] as number, (ranges[i + 1] as number) + 1);
  }
  return bits;
}

function toRanges(bits: Uint8Array): number[] {
  const out: number[] = [];
  for (let slot = 0; slot < SLOTS; slot++) {
    if (bits[slot] === 1 && bits[slot - 1] !== 1) out.push(slot);
    if (bits[slot] === 1 && bits[slot + 1] !== 1) out.push(slot);
  }
  return out;
}

const ALL_SLOTS = new Uint8Array(SLOTS).fill(1);

/**
 * The slots a Cluster node holds by its own account (its `myself` line of
 * CLUSTER NODES: `0-5460`, `5461`; `[slot->-id]` marks a migration), which
 * is current even when the client's slot map is not yet.
 */
function ownSlots(nodes: string): Uint8Array {
  const bits = new Uint8Array(SLOTS);
  const mine = nodes.split("\n").find((line) => line.split(" ")[2]?.split(",").includes("myself"));
  for (const field of mine?.split(" ").slice(8) ?? []) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(field.trim());
    if (range !== null) bits.fill(1, Number(range[1]), Number(range[2] ?? range[1]) + 1);
  }
  return bits;
}

/** One SCAN's answer, with the process that gave it and the slots that node holds now. */
interface Scanned {
  readonly runId: string;
  readonly after: string;
  readonly keys: string[];
  readonly held: Uint8Array;
}

/**
 * SCAN, sent on one connection with INFO (the run_id) before it and, in a
 * Cluster, CLUSTER NODES after it: its slots at the end of the SCAN.
 */
async function scan(
  node: Redis,
  cluster: boolean,
  cursor: string,
  phase: Phase,
  count: number,
): Promise<Scanned> {
  const [info, [after, keys], nodes] = await Promise.all([
    node.info("server"),
    phase.match === undefined
      ? node.scan(cursor, "COUNT", count)
      : node.scan(cursor, "MATCH", phase.match, "COUNT", count),
    cluster ? (node.cluster("NODES") as Promise<string>) : undefined,
  ]);
  const runId = /run_id:(\w+)/.exec(info)?.[1]?.slice(0, RUN_ID);
  if (runId === undefined) throw new Error("Redis INFO has no run_id");
  return { runId, after, keys, held: nodes === undefined ? ALL_SLOTS : ownSlots(nodes) };
}

/** The position that starts on the master of the lowest slot not in `done`. */
function next(done: Uint8Array): Position {
  return { d: toRanges(done), s: done.indexOf(0), o: [], r: "", p: 0, c: "0", k: [] };
}

/** A page's keys and where the listing goes on; `at` is null when it is over. */
interface Page {
  readonly keys: string[];
  readonly at: Position | null;
}

/**
 * One page of a listing. Masters are listed one after the other in the
 * order of the lowest slot not yet done, each in one or two SCAN passes;
 * SCAN's COUNT starts at the keys still wanted and grows while the prefix
 * matches few of the keys walked. SCAN does not return expired keys.
 */
async function page(map: Layout, query: KeysQuery, from: Position): Promise<Page> {
  const passes = phases(query.prefix);
  const keys = from.k.slice(0, query.limit);
  let carried = from.k.slice(query.limit);
  // A cursor made with another prefix may be in a pass this prefix has not: its last one.
  let at: Position = { ...from, p: Math.min(from.p, passes.length - 1), k: [] };
  let walked = 0;
  let matched = 0;
  let smaller = false;
  for (let scans = 0; scans < MAX_SCANS; scans++) {
    if (at.s < 0 || keys.length >= query.limit || carried.length > 0) break;
    const node = map.owner(at.s);
    if (node === undefined) throw new Error(`no Redis master serves slot ${at.s}`);
    const phase = passes[at.p] as Phase;
    const wanted = query.limit - keys.length;
    const count: number = smaller
      ? wanted
      : Math.min(MAX_COUNT, Math.ceil((wanted * (walked + 1)) / (matched + 1)));
    const fresh = at.r === "";
    const reply = await scan(node, map.cluster, fresh ? "0" : at.c, phase, count);
    const found: string[] = [];
    for (const stored of reply.keys) {
      const key = phase.accept(stored);
      if (key !== undefined) found.push(key);
    }
    // Too many to carry: the same SCAN cursor again, walking only as many keys as wanted.
    smaller = found.length > wanted + MAX_CARRY && count > wanted;
    if (smaller) continue;
    if (!fresh && reply.runId !== at.r) {
      // Another process now: keep what it returned (real keys), list it again from 0.
      at = { ...at, r: "", p: 0, c: "0", o: [] };
    } else {
      if (fresh && reply.held[at.s] !== 1) map.stale(); // listed all the same, the slot stays to do
      const o = fresh ? toRanges(reply.held) : at.o;
      if (reply.after !== "0") {
        at = { ...at, r: reply.runId, o, c: reply.after };
      } else if (at.p + 1 < passes.length) {
        at = { ...at, r: reply.runId, o, p: at.p + 1, c: "0" };
      } else {
        // Done with this master: the slots it held from its first SCAN to its last
        // (a slot gained meanwhile may have had keys moved in behind the SCAN).
        const done = toBits(at.d);
        const first = toBits(o);
        for (let slot = 0; slot < SLOTS; slot++) {
          if (first[slot] === 1 && reply.held[slot] === 1) done[slot] = 1;
        }
        at = next(done);
      }
    }
    walked += Math.max(count, reply.keys.length);
    matched += found.length;
    keys.push(...found.slice(0, wanted));
    carried = found.slice(wanted);
  }
  if (at.s < 0 && carried.length === 0) return { keys, at: null };
  return { keys, at: { ...at, k: carried } };
}

/**
 * KV_KEYS on a Redis or a Cluster (see `Store.keys`): null for a cursor
 * that is not one of `kind`'s. The cursor is the listing's `Position`.
 */
export async function listKeys(
  client: Redis | Cluster,
  kind: string,
  query: KeysQuery,
): Promise<KeysPage | null> {
  let from: Position | undefined;
  if (query.cursor !== undefined) {
    from = position(decodeCursor(kind, query.cursor));
    if (from === undefined) return null;
  }
  const map = layout(client);
  const { keys, at } = await page(map, query, from ?? next(new Uint8Array(SLOTS)));
  return { keys, cursor: at === null ? null : encodeCursor(kind, at) };
}

/** Sorted slot ranges, as a Position holds them. */
function isSlots(x: unknown): x is number[] {
  if (!Array.isArray(x) || x.length % 2 !== 0) return false;
  let last = 0;
  for (const n of x as unknown[]) {
    if (!Number.isInteger(n) || (n as number) < last || (n as number) >= SLOTS) return false;
    last = n as number;
  }
  return true;
}

const isInteger = (x: unknown, min: number, max: number): x is number =>
  Number.isInteger(x) && (x as number) >= min && (x as number) <= max;

/** A decoded cursor's state as a Position, or undefined when it is not one. */
function position(state: unknown): Position | undefined {
  if (typeof state !== "object" || state === null) return undefined;
  const { d, s, o, r, p, c, k } = state as Record<string, unknown>;
  const ok =
    isSlots(d) &&
    isSlots(o) &&
    isInteger(s, -1, SLOTS - 1) &&
    isInteger(p, 0, 1) &&
    typeof r === "string" &&
    /^[0-9a-f]*$/.test(r) &&
    typeof c === "string" &&
    /^\d+$/.test(c) &&
    Array.isArray(k) &&
    k.every((key) => typeof key === "string");
  return ok ? { d, s, o, r, p, c, k } : undefined;
}
