-- wrk script for every HTTP scenario of the bench (bench/scenarios.py says what each sends).
--
--   wrk ... -s bench/wrk/requests.lua <url> -- REQUESTS_FILE RUN_ID IDEMPOTENT MAX_PER_THREAD \
--       THREADS
--
-- REQUESTS_FILE has one request per line: METHOD <tab> PATH <tab> HEADERS <tab> BODY, where
-- HEADERS is "Name: value" pairs joined by "|" (may be empty) and BODY may be empty. Each
-- thread goes round the list from its own starting point. "{n}" in a path or body becomes a
-- string unique to this request across every run (RUN_ID, thread, counter): a fresh SKU.
-- IDEMPOTENT "1" sends a fresh Idempotency-Key with each request.
-- MAX_PER_THREAD is a safety bound on requests: a thread that reaches it stops, and the run
-- is flagged as capped (wrk still divides by the whole duration).
-- THREADS is wrk's -t. With BENCH_VERSIONED=1 in the environment (a scenario that updates a
-- versioned resource, its id the path's last segment): each thread takes only its own share
-- of the list (no two threads update one resource), and sends in If-Match the version the
-- last answer about that resource named (a 200's body, a 412's ETag), starting from the one
-- the runner wrote in the file.
-- done() prints one JSON line, the only thing the runner reads: latencies in microseconds.
-- Only a versioned run defines response(): it makes wrk parse every answer, which slows the
-- generator.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local requests = {}
local run_id, idempotent, max_requests
local versioned = os.getenv("BENCH_VERSIONED") == "1"
local versions = {}  -- resource id -> the version to send next (versioned runs)
local start, sent = 0, 0

local function split(text, sep)
  local out = {}
  for piece in string.gmatch(text, "([^" .. sep .. "]+)") do
    out[#out + 1] = piece
  end
  return out
end

function init(args)
  run_id, idempotent, max_requests = args[2], args[3] == "1", tonumber(args[4])
  local share, index = tonumber(args[5] or "1"), 0
  for line in io.lines(args[1]) do
    index = index + 1
    local fields = {}
    for field in string.gmatch(line .. "\t", "([^\t]*)\t") do
      fields[#fields + 1] = field
    end
    local headers = {}
    for _, pair in ipairs(split(fields[3] or "", "|")) do
      local name, value = string.match(pair, "^([^:]+):%s*(.*)$")
      headers[name] = value
    end
    if fields[4] and fields[4] ~= "" then
      headers["Content-Type"] = "application/json"
    end
    local r = {
      method = fields[1], path = fields[2], headers = headers,
      body = fields[4] ~= "" and fields[4] or nil,
    }
    if not versioned then
      requests[#requests + 1] = r
    elseif (index - 1) % share == tid - 1 then
      r.id = string.match(r.path, "([^/]+)$")
      versions[r.id] = string.match(headers["If-Match"] or "", "%d+") or "1"
      requests[#requests + 1] = r
    end
  end
  -- Threads start at different points of the list, so they do not move in step.
  start = math.floor((tid - 1) * #requests / 2)
end

function request()
  sent = sent + 1
  if sent > max_requests then
    wrk.thread:stop()
  end
  local r = requests[(start + sent - 1) % #requests + 1]
  local unique = run_id .. "-" .. tid .. "-" .. sent
  local headers = r.headers
  if idempotent or versioned then
    headers = {}
    for k, v in pairs(r.headers) do headers[k] = v end
  end
  if idempotent then
    headers["Idempotency-Key"] = unique
  end
  if versioned then
    headers["If-Match"] = '"' .. versions[r.id] .. '"'
  end
  local path, body = string.gsub(r.path, "{n}", unique), r.body
  if body then
    body = string.gsub(body, "{n}", unique)
  end
  return wrk.format(r.method, path, headers, body)
end

if versioned then
  function response(status, headers, body)
    -- A 200 names its resource and new version; a 412 (another writer moved it on) carries
    -- the current version in its ETag and the resource in its problem's instance.
    local id, version = string.match(body or "", '"id":"([^"]+)"'), nil
    if status == 200 then
      version = string.match(body, '"version":(%d+)')
    elseif status == 412 then
      id = string.match(body or "", '"instance":"[^"]*/([^/"]+)"')
      version = string.match(headers["ETag"] or headers["etag"] or "", "%d+")
    end
    if id and version and versions[id] then
      versions[id] = version
    end
  end
end

function done(summary, latency, _)
  local e = summary.errors
  local points = {}
  for _, p in ipairs({50, 75, 90, 95, 99, 99.9}) do
    points[#points + 1] = string.format('"%s": %d', p, latency:percentile(p))
  end
  io.write(string.format(
    'BENCH-RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "max_us": %d, "mean_us": %.1f, ' ..
    '"percentiles_us": {%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.max, latency.mean, table.concat(points, ", ")))
end
