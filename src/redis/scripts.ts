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
 * KEYS[1]: the breaker's hash. Returns the server's TIME and the record:
 * `[seconds, microseconds, version, circuit, tracker, settings, at, writer]` ('' for absent fields).
 */
export const READ: Script = {
  lua: `local t = redis.call('TIME')
local h = redis.call('HMGET', KEYS[1], 'v', 'c', 't', 's', 'w', 'i')
return {t[1], t[2], h[1] or '', h[2] or '', h[3] or '', h[4] or '', h[5] or '', h[6] or ''}
`,
  sha: '006e705bd548bc01bf1c540a02a0665e150cf47a',
};

/**
 * KEYS[1]: the breaker's hash. ARGV: expected version ('' = absent), at, circuit, tracker, settings,
 * ttl in ms, channel ('' = no message), writer. Writes only if the version matches and the server's clock is
 * not behind `at`; a new record's version starts from the server's clock in microseconds, so a record
 * that expired and came back never reuses a version. Returns `['1', seconds, microseconds, version]`,
 * or `['0', seconds, microseconds, version, circuit, tracker, settings, at, writer]` with the record that won.
 */
export const COMPARE_AND_SET: Script = {
  lua: `local key = KEYS[1]
local t = redis.call('TIME')
local cur = redis.call('HGET', key, 'v') or ''
if cur ~= ARGV[1] or tonumber(ARGV[2]) > tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000 then
  local h = redis.call('HMGET', key, 'c', 't', 's', 'w', 'i')
  return {'0', t[1], t[2], cur, h[1] or '', h[2] or '', h[3] or '', h[4] or '', h[5] or ''}
end
if cur == '' then
  redis.call('HSET', key, 'v', t[1] .. string.format('%06d', tonumber(t[2])))
else
  redis.call('HINCRBY', key, 'v', 1)
end
local v = redis.call('HGET', key, 'v')
redis.call('HSET', key, 'c', ARGV[3], 't', ARGV[4], 's', ARGV[5], 'w', ARGV[2], 'i', ARGV[8])
redis.call('PEXPIRE', key, ARGV[6])
if ARGV[7] ~= '' then
  redis.call('PUBLISH', ARGV[7], v .. '\\n' .. t[1] .. '\\n' .. t[2] .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[5] .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[8] .. '\\n' .. key)
end
return {'1', t[1], t[2], v}
`,
  sha: 'c7f51f70324a655a7fac409b0eb5ce33f5ff5a28',
};
