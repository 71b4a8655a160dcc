import type { Cluster, Redis, RedisKey, Result } from "ioredis";
import { APPEND_FUNCTION, APPEND_LUA } from "./redis-append-lua.ts";

export { APPEND_LUA };

/**
 * SET that also tells whether the key existed, in one atomic round trip, so
 * that N nodes setting one new key at once answer exactly one 20.
 * Replies 1 when the key existed, 0 when it was new.
 */
export const SET_AND_REPORT_LUA = `
if redis.call('SET', KEYS[1], ARGV[1], 'GET') then return 1 end
return 0`;

/**
 * SET_AND_REPORT_LUA with an expiry: ARGV[2] ms from now. A separate
 * script, so the SET without a ttl (v1's hot path) stays as it was.
 */
export const SET_PX_LUA = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'GET') then return 1 end
return 0`;

/**
 * KV_PERSIST answers 1 whether or not the key had an expiry, so PERSIST's
 * own reply (0 for both "no expiry" and "no key") is not enough: EXISTS in
 * the same script tells the missing key apart, atomically. Replies 1 or 0.
 */
const PERSIST_ONE =
  "if redis.call('EXISTS', key) == 0 then return 0 end redis.call('PERSIST', key) return 1";

export const PERSIST_LUA = `local key = KEYS[1] ${PERSIST_ONE}`;

/**
 * Counts and deletes the keys of one node's database atomically, so the
 * number answered is exactly the number deleted. Redis 7 allows FLUSHDB in
 * scripts (it is not flagged `noscript`).
 */
export const CLEAR_LUA = `
local n = redis.call('DBSIZE')
redis.call('FLUSHDB')
return n`;

/**
 * A script that runs `one(key, value)` for each key of a group in order and
 * answers one result per key, so a whole group costs one EVALSHA. ARGV holds
 * the count n, the n keys, then a value per key where the operation takes
 * one; KEYS holds only the first key, which routes the script in a Cluster
 * (a Cluster refuses declared keys of several slots with CROSSSLOT, while
 * `allow-cross-slot-keys` lets the script reach keys of other slots on the
 * same master). A key whose call fails (WRONGTYPE, or a key this master no
 * longer holds during a resharding) answers its error in its place without
 * stopping the others, so the script never fails halfway.
 *
 * A `timed` script takes a ttl per key after the values (ARGV: n, keys,
 * values, ttls) and its `one` a third argument; the others are unchanged.
 */
function forEachKey(flags: string, one: string, prelude = "", timed = false): string {
  const params = timed ? "key, value, ttl" : "key, value";
  const args = timed
    ? "ARGV[1 + i], ARGV[1 + n + i], ARGV[1 + 2 * n + i]"
    : "ARGV[1 + i], ARGV[1 + n + i]";
  return `#!lua flags=${flags}
${prelude}
local function one(${params}) ${one} end
local n = tonumber(ARGV[1])
local out = {}
for i = 1, n do
  local ok, r = pcall(one, ${args})
  if ok then out[i] = r elseif type(r) == 'table' then out[i] = r else out[i] = { err = tostring(r) } end
end
return out`;
}

/** Per key: 1 when the key existed, 0 when it was new (see SET_AND_REPORT_LUA). */
export const SET_MANY_LUA = forEachKey(
  "allow-cross-slot-keys",
  "if redis.call('SET', key, value, 'GET') then return 1 end return 0",
);
/** Per key: 1 when stored, 0 when the key existed. */
export const ADD_MANY_LUA = forEachKey(
  "allow-cross-slot-keys",
  "if redis.call('SET', key, value, 'NX') then return 1 end return 0",
);
/** Per key: 1 when the key existed, 0 when it was new; it expires `ttl` ms from now. */
export const SET_PX_MANY_LUA = forEachKey(
  "allow-cross-slot-keys",
  "if redis.call('SET', key, value, 'PX', ttl, 'GET') then return 1 end return 0",
  "",
  true,
);
/** Per key: 1 when stored (expiring `ttl` ms from now), 0 when the key existed. */
export const ADD_PX_MANY_LUA = forEachKey(
  "allow-cross-slot-keys",
  "if redis.call('SET', key, value, 'PX', ttl, 'NX') then return 1 end return 0",
  "",
  true,
);
/**
 * Per key: 1 when the key now expires `value` ms from now, 0 when it is
 * missing. The ms travel in the value's place (the op has no other value).
 * PEXPIRE and PERSIST never grow the data, and Redis runs them alone at
 * `maxmemory`, so their scripts carry `allow-oom` as DEL_MANY_LUA does.
 */
export const EXPIRE_MANY_LUA = forEachKey(
  "allow-oom,allow-cross-slot-keys",
  "return redis.call('PEXPIRE', key, value)",
);
/** Per key: 1 or 0 (see PERSIST_LUA). */
export const PERSIST_MANY_LUA = forEachKey("allow-oom,allow-cross-slot-keys", PERSIST_ONE);
/** Per key: PTTL's reply, -2 missing, -1 persistent, else the ms left. */
export const PTTL_MANY_LUA = forEachKey(
  "no-writes,allow-cross-slot-keys",
  "return redis.call('PTTL', key)",
);
/** Per key: 1, 22 or 41 (see APPEND_LUA). */
export const APPEND_MANY_LUA = forEachKey(
  "allow-cross-slot-keys",
  "return append(key, value)",
  APPEND_FUNCTION,
);
/**
 * Per key: the value, or nil, also for a key holding another type, as MGET
 * answers. A Cluster's MGET refuses keys of several slots; this does not.
 */
export const GET_MANY_LUA = forEachKey(
  "no-writes,allow-cross-slot-keys",
  `local v = redis.pcall('GET', key)
  if type(v) == 'table' and v.err and string.sub(v.err, 1, 9) == 'WRONGTYPE' then return false end
  return v`,
);
/** Per key: 1 or 0. Runs at maxmemory too: removing must always work. */
export const DEL_MANY_LUA = forEachKey(
  "allow-oom,allow-cross-slot-keys",
  "return redis.call('DEL', key)",
);
/** Per key: 1 or 0. */
export const EXISTS_MANY_LUA = forEachKey(
  "no-writes,allow-cross-slot-keys",
  "return redis.call('EXISTS', key)",
);

declare module "ioredis" {
  interface RedisCommander<Context> {
    /** {@link SET_AND_REPORT_LUA}: 1 when the key existed, 0 when it was new. */
    kvfleetSet(key: RedisKey, value: string): Result<0 | 1, Context>;
    /** {@link SET_PX_LUA}: 1 when the key existed, 0 when it was new. */
    kvfleetSetPx(key: RedisKey, value: string, ttl: number): Result<0 | 1, Context>;
    /** {@link PERSIST_LUA}: 1 when the key exists (now persistent), 0 when missing. */
    kvfleetPersist(key: RedisKey): Result<0 | 1, Context>;
    /** {@link APPEND_LUA}: 1, 22 or 41. */
    kvfleetAppend(key: RedisKey, value: string): Result<1 | 22 | 41, Context>;
    /** {@link CLEAR_LUA}: the number of keys deleted on this node. */
    kvfleetClear(): Result<number, Context>;
    /**
     * The `*_MANY_LUA` scripts: the first key (it routes the script), the key
     * count, the keys, then a value per key where the operation takes one. A
     * key that failed answers its error (a ReplyError) in its place.
     */
    kvfleetSetMany(first: RedisKey, ...args: (string | number)[]): Result<unknown[], Context>;
    kvfleetSetPxMany(first: RedisKey, ...args: (string | number)[]): Result<unknown[], Context>;
    kvfleetAddPxMany(first: RedisKey, ...args: (string | number)[]): Result<unknown[], Context>;
    kvfleetExpireMany(first: RedisKey, ...args: (string | number)[]): Result<unknown[], Context>;
    kvfleetPersistMany(first: RedisKey, ...args: (string | number)[]): Result<unknown[], Context>;
    kvfleetPttlMany(first: RedisKey, ...args: (string | number)[]): Result<unknown[], Context>;
    kvfleetAddMany(first: RedisKey, ...args: (string | number)[]): Result<unknown[], Context>;
    kvfleetAppendMany(first: RedisKey, ...args: (string | number)[]): Result<unknown[], Context>;
    kvfleetGetMany(first: RedisKey, ...args: (string | number)[]): Result<unknown[], Context>;
    kvfleetDelMany(first: RedisKey, ...args: (string | number)[]): Result<unknown[], Context>;
    kvfleetExistsMany(first: RedisKey, ...args: (string | number)[]): Result<unknown[], Context>;
  }
}

const defined = new WeakSet<Redis | Cluster>();

/**
 * Registers the scripts as custom commands on a client (once per client);
 * ioredis then sends EVALSHA and falls back to EVAL on NOSCRIPT by itself.
 */
export function defineScripts(client: Redis | Cluster): void {
  if (defined.has(client)) return;
  defined.add(client);
  client.defineCommand("kvfleetSet", { numberOfKeys: 1, lua: SET_AND_REPORT_LUA });
  client.defineCommand("kvfleetAppend", { numberOfKeys: 1, lua: APPEND_LUA });
  client.defineCommand("kvfleetClear", { numberOfKeys: 0, lua: CLEAR_LUA });
  client.defineCommand("kvfleetSetMany", { numberOfKeys: 1, lua: SET_MANY_LUA });
  client.defineCommand("kvfleetAddMany", { numberOfKeys: 1, lua: ADD_MANY_LUA });
  client.defineCommand("kvfleetAppendMany", { numberOfKeys: 1, lua: APPEND_MANY_LUA });
  client.defineCommand("kvfleetGetMany", { numberOfKeys: 1, lua: GET_MANY_LUA });
  client.defineCommand("kvfleetDelMany", { numberOfKeys: 1, lua: DEL_MANY_LUA });
  client.defineCommand("kvfleetExistsMany", { numberOfKeys: 1, lua: EXISTS_MANY_LUA });
  client.defineCommand("kvfleetSetPx", { numberOfKeys: 1, lua: SET_PX_LUA });
  client.defineCommand("kvfleetPersist", { numberOfKeys: 1, lua: PERSIST_LUA });
  client.defineCommand("kvfleetSetPxMany", { numberOfKeys: 1, lua: SET_PX_MANY_LUA });
  client.defineCommand("kvfleetAddPxMany", { numberOfKeys: 1, lua: ADD_PX_MANY_LUA });
  client.defineCommand("kvfleetExpireMany", { numberOfKeys: 1, lua: EXPIRE_MANY_LUA });
  client.defineCommand("kvfleetPersistMany", { numberOfKeys: 1, lua: PERSIST_MANY_LUA });
  client.defineCommand("kvfleetPttlMany", { numberOfKeys: 1, lua: PTTL_MANY_LUA });
}
