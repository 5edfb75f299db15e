/**
 * The Lua scripts of `RedisStore`: storage primitives only (an atomic read with the server's
 * clock, and a compare-and-set that publishes the change). No breaker rule is written here.
 *
 * The SHA-1 digests are checked against the script text by the tests.
 */

/** A script and its SHA-1, for EVALSHA. */
export interface Script {
  readonly lua: string;
  readonly sha: string;
}

/**
 * `whole(x)`: `x` if it is a positive decimal integer without leading zeros, of 18 digits at most (so
 * Redis reads it as an integer and PEXPIRE cannot overflow), else `''`. `version(x)`: the same up to 19
 * digits below 2^63 − 1, so that HINCRBY can always add one (an 18-digit version may become 19 digits).
 *
 * A stored version is such a number. A record whose `v` is anything else (absent, or written by another
 * app or by hand) reads as absent, and the next write replaces the whole hash.
 */
const WHOLE = `local function whole(x)
  if x and #x <= 18 and string.match(x, '^[1-9]%d*$') then return x end
  return ''
end
local function version(x)
  if x and #x == 19 and string.match(x, '^[1-9]%d*$') and x < '9223372036854775807' then return x end
  return whole(x)
end
`;

/**
 * KEYS[1]: the breaker's hash. Returns the server's TIME and the record:
 * `[seconds, microseconds, version, circuit, tracker, settings, at, writer]` ('' for absent fields).
 */
export const READ: Script = {
  lua: `${WHOLE}local t = redis.call('TIME')
local h = redis.call('HMGET', KEYS[1], 'v', 'c', 't', 's', 'w', 'i')
if version(h[1]) == '' then return {t[1], t[2], '', '', '', '', '', ''} end
return {t[1], t[2], h[1], h[2] or '', h[3] or '', h[4] or '', h[5] or '', h[6] or ''}
`,
  sha: '8128ac02ed9aca90038323bea7d7a51f5aa67f54',
};

/**
 * KEYS[1]: the breaker's hash. ARGV: expected version ('' = absent), at, circuit, tracker, settings,
 * ttl in ms ('0' = no expiry), channel ('' = no message), writer, expected writer. Writes only if the record is the
 * one expected, its version and its writer (after a failover that lost a write, another write may hold the same
 * version), and the server's clock is not behind `at`; a new record's version starts from the server's clock in
 * microseconds, so a record that expired and came back never reuses a version. Returns
 * `['1', seconds, microseconds, version]`, or `['0', seconds, microseconds, version, circuit, tracker,
 * settings, at, writer]` with the record that won.
 *
 * Every argument is checked before the first write: once the hash is written, nothing left can fail.
 * The message names KEYS[1] as the server sees it (with a client's key prefix, if any).
 */
export const COMPARE_AND_SET: Script = {
  lua: `${WHOLE}local key = KEYS[1]
local ttl = ARGV[6]
if ttl ~= '0' and whole(ttl) == '' then return redis.error_reply('ERR ttl must be 0 or a whole number of ms') end
local at = tonumber(ARGV[2])
local t = redis.call('TIME')
local h = redis.call('HMGET', key, 'v', 'c', 't', 's', 'w', 'i')
local cur = version(h[1])
if cur == '' then h = {} end
if cur ~= ARGV[1] or (cur ~= '' and (h[6] or '') ~= ARGV[9]) or at > tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000 then
  return {'0', t[1], t[2], cur, h[2] or '', h[3] or '', h[4] or '', h[5] or '', h[6] or ''}
end
local v
if cur == '' then
  v = t[1] .. string.format('%06d', tonumber(t[2]))
  redis.call('DEL', key)
  redis.call('HSET', key, 'v', v)
else
  redis.call('HINCRBY', key, 'v', 1)
  v = redis.call('HGET', key, 'v')
end
redis.call('HSET', key, 'c', ARGV[3], 't', ARGV[4], 's', ARGV[5], 'w', ARGV[2], 'i', ARGV[8])
if ttl == '0' then redis.call('PERSIST', key) else redis.call('PEXPIRE', key, ttl) end
if ARGV[7] ~= '' then
  redis.call('PUBLISH', ARGV[7], v .. '\\n' .. t[1] .. '\\n' .. t[2] .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[5] .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[8] .. '\\n' .. key)
end
return {'1', t[1], t[2], v}
`,
  sha: 'aa78aa1df19d3d4a8c4b73c3fddd9a926294281a',
};
