-- Replays a page mix for raw throughput: `wrk -s loadtest/wrk/pages.lua ...` (loadtest/run
-- writes the inputs and reads the result; see loadtest/README.md).
--
-- PATHS_FILE     one request path per line; a line "@member <path>" is sent with the logged-in
--                session cookie in MEMBER_COOKIE (a real session: loadtest/run logs in).
-- THINK_MS       each connection pauses this long between its requests (wrk's delay(), which
--                wrk applies per connection); 0 or unset: a closed loop, no pause.
-- REQUEST_POOL   requests prepared per thread (default 10000, at most 65536), each from a client
--                IP of its own.
-- COUNT_RESPONSES  1: count responses by X-Cache-Status (the edge's HIT, MISS, BYPASS, ...; "-"
--                without one) and the 429s and 5xx among them; defining response() makes wrk
--                hand every response's headers and body to Lua, so it is optional.
-- RESULT_MARKER  done() prints one line "<marker> {json}" with the figures (default WRK_RESULT).
--
-- wrk runs one Lua state per thread (not per connection), plus one for setup() and done().
-- Each thread prepares its requests once, in init(): formatting a request per request would
-- cost wrk CPU that the server, on the same small machine, needs. Each prepared request comes
-- from its own client IP (X-Forwarded-For, trusted by the edge with TRUSTED_PROXIES, or by the
-- app with PROXY_FIX_HOPS=1 when it is driven directly): 10.<thread>.x.y, so the per-IP rate
-- limit is checked on every request but, as with thousands of real visitors, not hit: at R
-- req/s each IP sends 60 R / (threads x pool) a minute (limit: 100 a minute, burst 30).

local think_ms = tonumber(os.getenv("THINK_MS") or "0") or 0
local pool_size = tonumber(os.getenv("REQUEST_POOL") or "10000") or 10000
local count_responses = os.getenv("COUNT_RESPONSES") == "1"
local marker = os.getenv("RESULT_MARKER") or "WRK_RESULT"
assert(pool_size >= 1 and pool_size <= 65536, "REQUEST_POOL: 1 to 65536 (one /16 per thread)")
local threads = {}
local requests, count = {}, 0

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

local function read_paths()
  local name = os.getenv("PATHS_FILE") or "loadtest/paths.txt"
  local file = assert(io.open(name), "cannot open PATHS_FILE " .. name)
  local lines = {}
  for line in file:lines() do
    if line ~= "" then lines[#lines + 1] = line end
  end
  file:close()
  assert(#lines > 0, "PATHS_FILE " .. name .. " is empty")
  return lines
end

function init(args)
  local n = thread_number or 1
  math.randomseed(os.time() * 1000 + n)
  local lines = read_paths()
  local cookie = os.getenv("MEMBER_COOKIE")
  for i = 0, pool_size - 1 do
    local line = lines[math.random(#lines)]
    local headers = {
      ["X-Forwarded-Proto"] = "https",
      ["X-Forwarded-For"] = string.format("10.%d.%d.%d", n, math.floor(i / 256) % 256, i % 256),
      ["Accept-Encoding"] = "br, gzip",
    }
    local member_path = line:match("^@member (.+)$")
    if member_path then
      assert(cookie and cookie ~= "", "PATHS_FILE has @member lines but MEMBER_COOKIE is empty")
      headers["Cookie"] = cookie
      line = member_path
    end
    requests[i + 1] = wrk.format("GET", line, headers)
  end
  count = #requests
end

function request()
  return requests[math.random(count)]
end

if think_ms > 0 then
  function delay()
    return think_ms
  end
end

-- Per thread; done() adds them up (thread:get reads a thread's globals).
local by_cache, by_status = {}, {}
cache_counts, error_counts = by_cache, by_status

if count_responses then
  function response(status, headers)
    local cache = headers["X-Cache-Status"] or "-"
    by_cache[cache] = (by_cache[cache] or 0) + 1
    if status == 429 or status >= 500 then
      by_status[status] = (by_status[status] or 0) + 1
    end
  end
end

local function add_up(name)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get(name) or {}) do
      total[tostring(key)] = (total[tostring(key)] or 0) + n
    end
  end
  local parts = {}
  for key, n in pairs(total) do
    parts[#parts + 1] = string.format('"%s": %d', key:gsub('[^%w%-]', ""), n)
  end
  table.sort(parts)
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, _)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '%s {"requests": %d, "seconds": %.3f, "rps": %.1f, "bytes": %d, '
      .. '"p50_ms": %.2f, "p90_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, '
      .. '"mean_ms": %.2f, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
      .. '"timeouts": %d, "bad_status": %d, "threads": %d, "think_ms": %d, '
      .. '"counted": %s, "cache": %s, "error_status": %s}\n',
    marker, summary.requests, seconds, summary.requests / seconds, summary.bytes,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, latency.mean / 1e3,
    e.connect, e.read, e.write, e.timeout, e.status, #threads, think_ms,
    tostring(count_responses), add_up("cache_counts"), add_up("error_counts")))
end
