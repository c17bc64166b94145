-- wrk script for POST /ingest (and the ceiling): a unique log id on every request.
--
-- Arguments after "--": <json|text> <run prefix> <tenant count>
-- The summary is printed as one line starting with BENCH_JSON for bench/wrk.py.

local counter = 0
local mode = "json"
local prefix = "run"
local tenants = 20
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_id", next_thread)
end

function init(args)
  mode = args[1] or "json"
  prefix = args[2] or "run"
  tenants = tonumber(args[3] or "20")
end

local json_headers = { ["Content-Type"] = "application/json" }

function request()
  counter = counter + 1
  local log_id = prefix .. "-" .. thread_id .. "-" .. counter
  local tenant = string.format("bench-t%02d", counter % tenants)
  if mode == "json" then
    local body = '{"tenant_id":"' .. tenant .. '","log_id":"' .. log_id
      .. '","text":"User 555-0199 accessed the system"}'
    return wrk.format("POST", nil, json_headers, body)
  end
  local headers = { ["Content-Type"] = "text/plain", ["X-Tenant-ID"] = tenant, ["X-Log-ID"] = log_id }
  return wrk.format("POST", nil, headers, "Alert: System status check for 555-1234")
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
