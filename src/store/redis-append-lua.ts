/**
 * KV_APPEND on the stored JSON text, the same as `json/append.ts`. Replies
 * 1 Ok, 22 KeyNotExist or 41 ValueTypeInvalid (value untouched), and as a
 * second result the whole new value when the append changed it (for the
 * change event; an append that adds nothing writes nothing). The final SET
 * carries KEEPTTL: an append keeps the key's expiry.
 *
 * Values never go through cjson: it turns [] into {}, rounds numbers beyond
 * 2^53, reorders members and gives up on deep nesting. Both texts are compact
 * JSON written by kvfleet, so the first byte names the type, and a small
 * scanner finds the top-level members of an object while skipping nested
 * values by depth (honouring strings). Member names are compared decoded:
 * `\u` escapes become UTF-8, surrogate pairs combined, so "\u0061" is "a".
 */
export const APPEND_FUNCTION = String.raw`
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
if combined == stored then return 1 end
redis.call('SET', key, combined, 'KEEPTTL')
return 1, combined
end`;
