/**
 * The Lua that publishes change events from inside the write scripts, in the
 * same atomic step as each key's write: Redis runs a script alone, and a
 * channel's messages reach a subscriber's connection in the order they were
 * published, so every watching node sees a key's changes in the order the
 * store applied them, whichever node made them (see `redis-channels.ts` for
 * the channels and the message format).
 */

/** How events are published on one kind of deployment. */
export interface Publisher {
  /** `PUBLISH` on a single Redis; `SPUBLISH` on a Cluster, which stays on the key's master. */
  readonly publish: "PUBLISH" | "SPUBLISH";
  /** The subscriber count of a channel, as `PUBSUB` names it for that kind of channel. */
  readonly numsub: "NUMSUB" | "SHARDNUMSUB";
}

export const SINGLE: Publisher = { publish: "PUBLISH", numsub: "NUMSUB" };
export const SHARDED: Publisher = { publish: "SPUBLISH", numsub: "SHARDNUMSUB" };

/**
 * Defines `emit(i, message)`, which publishes on the channel of key `i`
 * (given by the Lua expression `channel`), and `changed(i, op, key, value)`,
 * which publishes `op .. #key .. ':' .. key .. value`.
 *
 * Nobody pays for watches they don't use: the script asks once, at its first
 * change, whether the channel has a subscriber, and publishes only then. A
 * node that watches subscribes, and waits for Redis to confirm it, before
 * its watch is live, so every script that starts afterwards sees the count
 * and publishes; no flag key, nothing to clean up after a crash. (The count
 * is of exact subscribers: PSUBSCRIBE does not count.) The message is built
 * only once the answer is yes: a key and its value copied for nobody cost a
 * lone write more than the count does.
 *
 * Both calls go through `redis.pcall` and their results are dropped: a
 * publish that fails (an ACL without the channel, a channel of another
 * master) must never become the key's error, since the write already ran and
 * a key answered with an error may be retried (an APPEND twice).
 */
export function emitter({ publish, numsub }: Publisher, channel: string): string {
  return `local live
local function listened(ch)
  if live == nil then
    local r = redis.pcall('PUBSUB', '${numsub}', ch)
    live = type(r) == 'table' and type(r[2]) == 'number' and r[2] > 0
  end
  return live
end
local function emit(i, message)
  local ch = ${channel}
  if listened(ch) then redis.pcall('${publish}', ch, message) end
end
local function changed(i, op, key, value)
  local ch = ${channel}
  if listened(ch) then redis.pcall('${publish}', ch, op .. #key .. ':' .. key .. (value or '')) end
end`;
}

/**
 * A script for one key (KEYS[1]), without a shebang like the lone scripts
 * before events (so at `maxmemory` it is refused exactly where the plain
 * command was: at its SET, not at a DEL), with the channel as its last ARGV.
 * It changes one key at most, so its `changed(op, value)` asks the count
 * without remembering it (cheaper than the group scripts' `emitter`).
 */
function lone({ publish, numsub }: Publisher, body: string): string {
  return `local key, ch = KEYS[1], ARGV[#ARGV]
local function changed(op, value)
  local r = redis.pcall('PUBSUB', '${numsub}', ch)
  if type(r) == 'table' and type(r[2]) == 'number' and r[2] > 0 then
    redis.pcall('${publish}', ch, op .. #key .. ':' .. key .. (value or ''))
  end
end
${body}`;
}

/** The scripts of the single-key writes, ARGV: value, (ttl), channel; replies as their commands. */
export function loneScripts(publisher: Publisher, appendFunction: string) {
  return {
    /** 1 when the key existed, 0 when it was new. */
    set: lone(
      publisher,
      `local old = redis.call('SET', key, ARGV[1], 'GET')
changed('s', ARGV[1])
if old then return 1 end
return 0`,
    ),
    /** As set, the key expiring ARGV[2] ms from now. */
    setPx: lone(
      publisher,
      `local old = redis.call('SET', key, ARGV[1], 'PX', ARGV[2], 'GET')
changed('s', ARGV[1])
if old then return 1 end
return 0`,
    ),
    /** 1 when stored, 0 when the key existed (and nothing is published). */
    add: lone(
      publisher,
      `if not redis.call('SET', key, ARGV[1], 'NX') then return 0 end
changed('s', ARGV[1])
return 1`,
    ),
    /** As add, the key expiring ARGV[2] ms from now. */
    addPx: lone(
      publisher,
      `if not redis.call('SET', key, ARGV[1], 'PX', ARGV[2], 'NX') then return 0 end
changed('s', ARGV[1])
return 1`,
    ),
    /** 1 when the key was removed, 0 when it was missing. */
    del: lone(
      publisher,
      `if redis.call('DEL', key) == 0 then return 0 end
changed('r')
return 1`,
    ),
    /** 1, 22 or 41 (see `redis-append-lua.ts`), publishing the whole new value. */
    append: `${appendFunction}
${lone(
  publisher,
  `local st, combined = append(key, ARGV[1])
if combined then changed('a', combined) end
return st`,
)}`,
  };
}

/**
 * Counts and deletes the keys of one node's database atomically, so the
 * number answered is exactly the number deleted, and publishes `c` on
 * ARGV[1]: FLUSHDB sends no keyspace notification at all. Redis 7 allows
 * FLUSHDB in scripts (it is not flagged `noscript`).
 */
export const CLEAR_LUA = `${emitter(SINGLE, "ARGV[1]")}
local n = redis.call('DBSIZE')
redis.call('FLUSHDB')
emit(1, 'c')
return n`;

/**
 * The clear of one Cluster master. ARGV: the clear's id, then pairs of a
 * slot's key and that slot's channel, for slots the node's slot map says this
 * master holds. A master can SPUBLISH only to channels of its own slots, and
 * the map may lag a resharding, so the first slot whose key is local (EXISTS
 * fails on a key of another master's slot) carries the event; when none is,
 * nothing is flushed and the clear fails on this master (status 100, which
 * never promises anything), rather than flushing unseen by the watches.
 * Every master publishes `c<id>`, one id for the whole KV_CLEAR, so that a
 * watching node sends one `clear` (see `redis-events.ts`).
 */
export const CLUSTER_CLEAR_LUA = `local ch
for i = 2, #ARGV - 1, 2 do
  if type(redis.pcall('EXISTS', ARGV[i])) == 'number' then ch = ARGV[i + 1] break end
end
if not ch then return redis.error_reply('TRYAGAIN kvfleet: this master holds none of the slots named') end
${emitter(SHARDED, "ch")}
local n = redis.call('DBSIZE')
redis.call('FLUSHDB')
emit(1, 'c' .. ARGV[1])
return n`;

/**
 * What a watch checks before it is live, as the user the write scripts run
 * as: that scripts may ask the subscriber count and publish on the channel
 * ARGV[1] (KEYS[1] routes it to the channel's master in a Cluster). Replies
 * the count of receivers, or the error the write scripts' publish would have
 * dropped silently. Publishes `p`, which every node ignores.
 */
export function probeScript({ publish, numsub }: Publisher): string {
  return `local r = redis.pcall('PUBSUB', '${numsub}', ARGV[1])
if type(r) ~= 'table' or r.err then return r end
if r[2] == 0 then return 0 end
return redis.pcall('${publish}', ARGV[1], 'p')`;
}
