-- Replays a page mix for raw throughput: `wrk -s loadtest/wrk/pages.lua ...` (loadtest/run
-- writes the inputs and reads the result; see loadtest/README.md).
--
-- PATHS_FILE     one request path per line; a line "@member <path>" is sent with the logged-in
--                session cookie in MEMBER_COOKIE (a real session: loadtest/run logs in).
-- THINK_MS       each connection pauses this long between its requests (wrk's delay(), which
--                wrk applies per connection); 0 or unset: a closed loop, no pause.
-- REQUEST_POOL   requests prepared per thread (default 10000), each from a client IP of its own.
-- RESULT_MARKER  done() prints one line "<marker> {json}" with the figures (default WRK_RESULT).
--
-- wrk runs one Lua state per thread (not per connection), plus one for setup() and done().
-- Each thread prepares its requests once, in init(): formatting a request per request would
-- cost wrk CPU that the server, on the same small machine, needs. Each prepared request comes
-- from its own client IP (X-Forwarded-For, trusted with PROXY_FIX_HOPS=1): 10.<thread>.x.y, so
-- the per-IP rate limit is checked on every request (with its Redis round trip) but, as with
-- thousands of real visitors, not hit: at R req/s each IP sends 60 R / (threads x pool) a minute.

local think_ms = tonumber(os.getenv("THINK_MS") or "0") or 0
local pool_size = tonumber(os.getenv("REQUEST_POOL") or "10000") or 10000
local marker = os.getenv("RESULT_MARKER") or "WRK_RESULT"
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

function done(summary, latency, _)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '%s {"requests": %d, "seconds": %.3f, "rps": %.1f, "bytes": %d, '
      .. '"p50_ms": %.2f, "p90_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, '
      .. '"mean_ms": %.2f, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
      .. '"timeouts": %d, "bad_status": %d, "threads": %d, "think_ms": %d}\n',
    marker, summary.requests, seconds, summary.requests / seconds, summary.bytes,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, latency.mean / 1e3,
    e.connect, e.read, e.write, e.timeout, e.status, #threads, think_ms))
end
