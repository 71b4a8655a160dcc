import type { Cluster, Redis, RedisKey, Result } from "ioredis";

/**
 * SET that also tells whether the key existed, in one atomic round trip, so
 * that N nodes setting one new key at once answer exactly one 20.
 * Replies 1 when the key existed, 0 when it was new.
 */
export const SET_AND_REPORT_LUA = `
if redis.call('SET', KEYS[1], ARGV[1], 'GET') then return 1 end
return 0`;

/**
 * KV_APPEND on the stored JSON text, the same as `json/append.ts`. Replies
 * 1 Ok, 22 KeyNotExist or 41 ValueTypeInvalid (value untouched).
 *
 * Values never go through cjson: it turns [] into {}, rounds numbers beyond
 * 2^53, reorders members and gives up on deep nesting. Both texts are compact
 * JSON written by kvfleet, so the first byte names the type, and a small
 * scanner finds the top-level members of an object while skipping nested
 * values by depth (honouring strings). Member names are compared decoded:
 * `\u` escapes become UTF-8, surrogate pairs combined, so "\u0061" is "a".
 */
const APPEND_FUNCTION = String.raw`
local byte, char, sub, find, floor = string.byte, string.char, string.sub, string.find, math.floor

local function string_end(s, i)
  local j, escaped = i + 1, false
  while true do
    local q = find(s, '["\\]', j)
    if byte(s, q) == 34 then return q + 1, escaped end
    escaped = true
    j = q + 2
  end
end

local function value_end(s, i)
  local c = byte(s, i)
  if c == 34 then return (string_end(s, i)) end
  if c ~= 91 and c ~= 123 then return find(s, '[,}%]]', i) end
  local depth, j = 0, i
  while true do
    local q = find(s, '["{}%[%]]', j)
    local d = byte(s, q)
    if d == 34 then
      j = string_end(s, q)
    else
      if d == 91 or d == 123 then depth = depth + 1 else depth = depth - 1 end
      j = q + 1
      if depth == 0 then return j end
    end
  end
end

local function utf8(cp)
  if cp < 128 then return char(cp) end
  if cp < 2048 then return char(192 + floor(cp / 64), 128 + cp % 64) end
  if cp < 65536 then
    return char(224 + floor(cp / 4096), 128 + floor(cp / 64) % 64, 128 + cp % 64)
  end
  return char(240 + floor(cp / 262144), 128 + floor(cp / 4096) % 64,
    128 + floor(cp / 64) % 64, 128 + cp % 64)
end

local SIMPLE = { [98] = '\b', [102] = '\f', [110] = '\n', [114] = '\r', [116] = '\t' }

local function unescape(s)
  local out, i = {}, 1
  while true do
    local j = find(s, '\\', i, true)
    if not j then
      out[#out + 1] = sub(s, i)
      return table.concat(out)
    end
    out[#out + 1] = sub(s, i, j - 1)
    local c = byte(s, j + 1)
    if c == 117 then
      local cp = tonumber(sub(s, j + 2, j + 5), 16)
      i = j + 6
      if cp >= 55296 and cp <= 56319 and byte(s, i) == 92 and byte(s, i + 1) == 117 then
        local low = tonumber(sub(s, i + 2, i + 5), 16)
        if low >= 56320 and low <= 57343 then
          cp = 65536 + (cp - 55296) * 1024 + (low - 56320)
          i = i + 6
        end
      end
      out[#out + 1] = utf8(cp)
    else
      out[#out + 1] = SIMPLE[c] or char(c)
      i = j + 2
    end
  end
end

local function each_member(s, visit)
  local i = 2
  while byte(s, i) == 34 do
    local name_end, escaped = string_end(s, i)
    local name = sub(s, i + 1, name_end - 2)
    if escaped then name = unescape(name) end
    local member_end = value_end(s, name_end + 1)
    visit(name, i, member_end)
    i = member_end + 1
  end
end

local function append(key, added)
local stored = redis.call('GET', key)
if not stored then return 22 end
local kind = byte(stored, 1)
if kind ~= byte(added, 1) then return 41 end
local combined
if kind == 34 then
  combined = sub(stored, 1, -2) .. sub(added, 2)
elseif kind == 91 then
  if #added == 2 then return 1 end
  if #stored == 2 then combined = added else combined = sub(stored, 1, -2) .. ',' .. sub(added, 2) end
elseif kind == 123 then
  local names, extra = {}, {}
  each_member(stored, function(name) names[name] = true end)
  each_member(added, function(name, from, to)
    if not names[name] then
      names[name] = true
      extra[#extra + 1] = sub(added, from, to - 1)
    end
  end)
  if #extra == 0 then return 1 end
  local tail = table.concat(extra, ',')
  if #stored == 2 then combined = '{' .. tail .. '}' else combined = sub(stored, 1, -2) .. ',' .. tail .. '}' end
else
  return 41
end
redis.call('SET', key, combined)
return 1
end`;

export const APPEND_LUA = `${APPEND_FUNCTION}
return append(KEYS[1], ARGV[1])`;

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
