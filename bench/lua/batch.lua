-- wrk script for batches of log records (NDJSON lines or a JSON array): unique log ids per request.
--
-- Arguments after "--": <ndjson|array> <run prefix> <tenant count> <records per request>
-- The body is built once per thread with a placeholder, which each request replaces
-- with its own number (one pass in C), so the generator stays cheap beside the server.
-- The summary is printed as one line starting with BENCH_JSON for bench/wrk.py.

local counter = 0
local mode = "ndjson"
local prefix = "run"
local tenants = 20
local records = 500
local template = nil
local headers = nil
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_id", next_thread)
end

function init(args)
  mode = args[1] or "ndjson"
  prefix = args[2] or "run"
  tenants = tonumber(args[3] or "20")
  records = tonumber(args[4] or "500")
  local items = {}
  for i = 1, records do
    local tenant = string.format("bench-t%02d", i % tenants)
    items[i] = '{"tenant_id":"' .. tenant .. '","log_id":"' .. prefix .. "-" .. thread_id .. "-@@-" .. i
      .. '","text":"User 555-0199 accessed the system"}'
  end
  if mode == "array" then
    template = "[" .. table.concat(items, ",") .. "]"
    headers = { ["Content-Type"] = "application/json" }
  else
    template = table.concat(items, "\n") .. "\n"
    headers = { ["Content-Type"] = "application/x-ndjson" }
  end
end

function request()
  counter = counter + 1
  local body = string.gsub(template, "@@", tostring(counter))
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,'
      .. '"status":%d,"timeout":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
