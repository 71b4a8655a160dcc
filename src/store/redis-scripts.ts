import type { Cluster, Redis, RedisKey, Result } from "ioredis";
import { APPEND_FUNCTION } from "./redis-append-lua.ts";
import {
  CLEAR_LUA,
  CLUSTER_CLEAR_LUA,
  emitter,
  loneScripts,
  type Publisher,
  probeScript,
  SHARDED,
  SINGLE,
} from "./redis-events-lua.ts";

/**
 * KV_PERSIST answers 1 whether or not the key had an expiry, so PERSIST's
 * own reply (0 for both "no expiry" and "no key") is not enough: EXISTS in
 * the same script tells the missing key apart, atomically. Replies 1 or 0.
 */
const PERSIST_ONE =
  "if redis.call('EXISTS', key) == 0 then return 0 end redis.call('PERSIST', key) return 1";

export const PERSIST_LUA = `local key = KEYS[1] ${PERSIST_ONE}`;

/** The lone scripts of a single Redis, which the benchmarks load by hand. */
const SINGLE_LONE = loneScripts(SINGLE, APPEND_FUNCTION);
/** The lone append of a single Redis, which the benchmark's Redis ceiling runs. */
export const APPEND_LUA = SINGLE_LONE.append;

/** What a group's script does per key, and what it takes and publishes. */
interface PerKey {
  /** The body of `one(i, key, value, ttl)`; `changed(i, ...)` publishes key i's change. */
  readonly one: string;
  /** Lua defined before `one`. */
  readonly prelude?: string;
  /** Columns of ARGV per key after the count: 1 keys, 2 and values, 3 and ttls. */
  readonly columns?: 1 | 2 | 3;
  /** Set for the scripts that change keys: they take channels after the columns. */
  readonly publisher?: Publisher;
}

/**
 * A script that runs `one(i, key, value, ttl)` for each key of a group in
 * order and answers one result per key, so a whole group costs one EVALSHA.
 * ARGV holds the count n, the n keys, then a value per key where the
 * operation takes one, then a ttl per key where it is timed (the columns);
 * KEYS holds only the first key, which routes the script in a Cluster (a
 * Cluster refuses declared keys of several slots with CROSSSLOT, while
 * `allow-cross-slot-keys` lets the script reach keys of other slots on the
 * same master). A key whose call fails (WRONGTYPE, or a key this master no
 * longer holds during a resharding) answers its error in its place without
 * stopping the others, so the script never fails halfway.
 *
 * A script that changes keys also takes the event channels last: one on a
 * single Redis, one per key (its slot's) on a Cluster.
 */
function forEachKey(flags: string, { one, prelude = "", columns = 2, publisher }: PerKey): string {
  const args = ["ARGV[1 + i]", "ARGV[1 + n + i]", "ARGV[1 + 2 * n + i]"].slice(0, columns);
  // Without a publisher, as a quiet node runs them: no count, no publish.
  let events = "local function changed() end";
  if (publisher !== undefined) {
    const channel = publisher === SINGLE ? "ARGV[#ARGV]" : `ARGV[1 + ${columns} * n + i]`;
    events = emitter(publisher, channel);
  }
  return `#!lua flags=${flags}
local n = tonumber(ARGV[1])
${prelude}
${events}
local function one(i, key, value, ttl) ${one} end
local out = {}
for i = 1, n do
  local ok, r = pcall(one, i, ${args.join(", ")})
  if ok then out[i] = r elseif type(r) == 'table' then out[i] = r else out[i] = { err = tostring(r) } end
end
return out`;
}

/** The Lua of every script, for one kind of deployment; the names are ioredis commands. */
function scripts(publisher: Publisher) {
  const lone = publisher === SINGLE ? SINGLE_LONE : loneScripts(publisher, APPEND_FUNCTION);
  return {
    kvfleetSet: lone.set,
    kvfleetSetPx: lone.setPx,
    kvfleetAdd: lone.add,
    kvfleetAddPx: lone.addPx,
    kvfleetDel: lone.del,
    kvfleetAppend: lone.append,
    kvfleetPersist: PERSIST_LUA,
    kvfleetProbe: probeScript(publisher),
    ...groupWrites(publisher),
    /**
     * A quiet node's group append (see `redis-quiet.ts`): kvfleetAppendMany
     * without the count and publish, taking no channels. (Its other group
     * writes are plain commands, which no append has.)
     */
    kvfleetAppendManyQuiet: forEachKey("allow-cross-slot-keys", GROUP_WRITES.kvfleetAppendMany),
    ...UNCHANGING,
  };
}

/** What each group write script does per key (`one`), its columns and prelude. */
const GROUP_WRITES = {
  /**
   * Per key: 1 when the key existed, 0 when it was new, in one atomic step, so
   * that N nodes setting one new key at once answer exactly one 20.
   */
  kvfleetSetMany: {
    one: "local old = redis.call('SET', key, value, 'GET') changed(i, 's', key, value) if old then return 1 end return 0",
  },
  /** Per key: 1 when stored, 0 when the key existed. */
  kvfleetAddMany: {
    one: "if redis.call('SET', key, value, 'NX') then changed(i, 's', key, value) return 1 end return 0",
  },
  /** Per key: 1 when the key existed, 0 when it was new; it expires `ttl` ms from now. */
  kvfleetSetPxMany: {
    one: "local old = redis.call('SET', key, value, 'PX', ttl, 'GET') changed(i, 's', key, value) if old then return 1 end return 0",
    columns: 3,
  },
  /** Per key: 1 when stored (expiring `ttl` ms from now), 0 when the key existed. */
  kvfleetAddPxMany: {
    one: "if redis.call('SET', key, value, 'PX', ttl, 'NX') then changed(i, 's', key, value) return 1 end return 0",
    columns: 3,
  },
  /** Per key: 1, 22 or 41 (see `redis-append-lua.ts`). */
  kvfleetAppendMany: {
    one: "local st, combined = append(key, value) if combined then changed(i, 'a', key, combined) end return st",
    prelude: APPEND_FUNCTION,
  },
  /** Per key: 1 or 0. Runs at maxmemory too (`allow-oom`): removing must always work. */
  kvfleetDelMany: {
    one: "if redis.call('DEL', key) == 0 then return 0 end changed(i, 'r', key) return 1",
    columns: 1,
    removes: true,
  },
} satisfies Record<string, Omit<PerKey, "publisher"> & { removes?: boolean }>;

export type GroupWrite = keyof typeof GROUP_WRITES;

/** The group write scripts, publishing their changes through `publisher`, or not at all. */
function groupWrites(publisher: Publisher | undefined): Record<GroupWrite, string> {
  const out = {} as Record<GroupWrite, string>;
  for (const [name, spec] of Object.entries(GROUP_WRITES) as [
    GroupWrite,
    (typeof GROUP_WRITES)[GroupWrite],
  ][]) {
    const flags = "removes" in spec ? "allow-oom,allow-cross-slot-keys" : "allow-cross-slot-keys";
    out[name] = forEachKey(flags, { ...spec, publisher });
  }
  return out;
}

/**
 * The scripts that change nothing a watch sees, the same on every kind of
 * deployment. EXPIRE_MANY: per key, 1 when the key now expires `value` ms
 * from now, 0 when it is missing; the ms travel in the value's place (the
 * op has no other value). PEXPIRE and PERSIST never grow the data, and
 * Redis runs them alone at `maxmemory`, so their scripts carry `allow-oom`
 * as DEL_MANY does. KV_EXPIRE and KV_PERSIST send no event (the expiry
 * itself sends `expire`, from Redis's keyspace notification).
 */
const UNCHANGING = {
  kvfleetExpireMany: forEachKey("allow-oom,allow-cross-slot-keys", {
    one: "return redis.call('PEXPIRE', key, value)",
  }),
  /** Per key: 1 or 0 (see PERSIST_LUA). */
  kvfleetPersistMany: forEachKey("allow-oom,allow-cross-slot-keys", {
    one: PERSIST_ONE,
    columns: 1,
  }),
  /** Per key: PTTL's reply, -2 missing, -1 persistent, else the ms left. */
  kvfleetPttlMany: forEachKey("no-writes,allow-cross-slot-keys", {
    one: "return redis.call('PTTL', key)",
    columns: 1,
  }),
  /**
   * Per key: the value, or nil, also for a key holding another type, as MGET
   * answers. A Cluster's MGET refuses keys of several slots; this does not.
   */
  kvfleetGetMany: forEachKey("no-writes,allow-cross-slot-keys", {
    one: `local v = redis.pcall('GET', key)
  if type(v) == 'table' and v.err and string.sub(v.err, 1, 9) == 'WRONGTYPE' then return false end
  return v`,
    columns: 1,
  }),
  /** Per key: 1 or 0. */
  kvfleetExistsMany: forEachKey("no-writes,allow-cross-slot-keys", {
    one: "return redis.call('EXISTS', key)",
    columns: 1,
  }),
};

type Args = (string | number)[];

declare module "ioredis" {
  interface RedisCommander<Context> {
    /**
     * The lone scripts: the key, the value (none for kvfleetDel), the ttl of
     * the timed ones, then the key's event channel. kvfleetSet and
     * kvfleetSetPx reply 1 when the key existed, 0 when it was new;
     * kvfleetAdd, kvfleetAddPx 1 stored, 0 existed; kvfleetDel 1 removed, 0
     * missing; kvfleetAppend 1, 22 or 41.
     */
    kvfleetSet(key: RedisKey, value: string, channel: string): Result<0 | 1, Context>;
    kvfleetSetPx(key: RedisKey, value: string, ttl: number, ch: string): Result<0 | 1, Context>;
    kvfleetAdd(key: RedisKey, value: string, channel: string): Result<0 | 1, Context>;
    kvfleetAddPx(key: RedisKey, value: string, ttl: number, ch: string): Result<0 | 1, Context>;
    kvfleetDel(key: RedisKey, channel: string): Result<0 | 1, Context>;
    kvfleetAppend(key: RedisKey, value: string, channel: string): Result<1 | 22 | 41, Context>;
    /** {@link PERSIST_LUA}: 1 when the key exists (now persistent), 0 when missing. */
    kvfleetPersist(key: RedisKey): Result<0 | 1, Context>;
    /**
     * CLEAR_LUA (a single Redis: the channel) or CLUSTER_CLEAR_LUA (a Cluster
     * master: the clear's id, then slot keys and channels): the number of keys
     * deleted on this node.
     */
    kvfleetClear(...args: string[]): Result<number, Context>;
    /** The watch's probe (see `redis-events-lua.ts`): a key routing it, the channel. */
    kvfleetProbe(key: RedisKey, channel: string): Result<number, Context>;
    /**
     * The group scripts: the first key (it routes the script), the key count,
     * the keys, then a value per key where the operation takes one, a ttl per
     * key where it is timed, and the channels where it changes keys. A key
     * that failed answers its error (a ReplyError) in its place.
     */
    kvfleetSetMany(first: RedisKey, ...args: Args): Result<unknown[], Context>;
    kvfleetSetPxMany(first: RedisKey, ...args: Args): Result<unknown[], Context>;
    kvfleetAddMany(first: RedisKey, ...args: Args): Result<unknown[], Context>;
    kvfleetAddPxMany(first: RedisKey, ...args: Args): Result<unknown[], Context>;
    kvfleetAppendMany(first: RedisKey, ...args: Args): Result<unknown[], Context>;
    kvfleetDelMany(first: RedisKey, ...args: Args): Result<unknown[], Context>;
    kvfleetExpireMany(first: RedisKey, ...args: Args): Result<unknown[], Context>;
    kvfleetPersistMany(first: RedisKey, ...args: Args): Result<unknown[], Context>;
    kvfleetPttlMany(first: RedisKey, ...args: Args): Result<unknown[], Context>;
    kvfleetGetMany(first: RedisKey, ...args: Args): Result<unknown[], Context>;
    kvfleetExistsMany(first: RedisKey, ...args: Args): Result<unknown[], Context>;
  }
}

const SINGLE_SCRIPTS = scripts(SINGLE);

/** The name of a per-key script: an ioredis command, and a key of `scriptTable`. */
export type ScriptName = keyof typeof SINGLE_SCRIPTS;

/** The Lua of every per-key script of a single Redis (SINGLE) or a Cluster, by name. */
export function scriptTable(cluster: boolean): Readonly<Record<ScriptName, string>> {
  return cluster ? SHARDED_SCRIPTS : SINGLE_SCRIPTS;
}
const SHARDED_SCRIPTS = scripts(SHARDED);
const defined = new WeakSet<Redis | Cluster>();

/**
 * The text of every script, to load into a node before any command is sent
 * to it: a script's first EVALSHA on a node that lacks it fails NOSCRIPT and
 * ioredis sends it again as EVAL, after the commands sent meanwhile, which
 * would reorder writes of one key.
 */
export function scriptSources(cluster: boolean): string[] {
  const all = cluster ? SHARDED_SCRIPTS : SINGLE_SCRIPTS;
  return [...Object.values(all), cluster ? CLUSTER_CLEAR_LUA : CLEAR_LUA];
}

/**
 * Registers the scripts as custom commands on a client (once per client);
 * ioredis then sends EVALSHA and falls back to EVAL on NOSCRIPT by itself.
 * `cluster` picks the Cluster's scripts (SPUBLISH) for a node client of a
 * Cluster, which is a plain `Redis` itself.
 */
export function defineScripts(client: Redis | Cluster, cluster = client.isCluster): void {
  if (defined.has(client)) return;
  defined.add(client);
  const all = cluster ? SHARDED_SCRIPTS : SINGLE_SCRIPTS;
  for (const [name, lua] of Object.entries(all))
    client.defineCommand(name, { numberOfKeys: 1, lua });
  const clear = cluster ? CLUSTER_CLEAR_LUA : CLEAR_LUA;
  client.defineCommand("kvfleetClear", { numberOfKeys: 0, lua: clear });
}
