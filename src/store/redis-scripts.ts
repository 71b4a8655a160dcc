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
 */
function forEachKey(flags: string, one: string, prelude = ""): string {
  return `#!lua flags=${flags}
${prelude}
local function one(key, value) ${one} end
local n = tonumber(ARGV[1])
local out = {}
for i = 1, n do
  local ok, r = pcall(one, ARGV[1 + i], ARGV[1 + n + i])
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
}
