-- Shared wrk script: optional request rotation and a JSON summary line at the end.
-- Environment: WRK_METHOD, WRK_BODY, WRK_PATHS (comma-separated paths to rotate through),
-- WRK_HEADERS ("Name: value|Name: value").
local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
local paths = {}
for p in string.gmatch(os.getenv("WRK_PATHS") or "", "([^,]+)") do table.insert(paths, p) end
local headers = {}
for h in string.gmatch(os.getenv("WRK_HEADERS") or "", "([^|]+)") do
  local k, v = string.match(h, "^%s*([^:]+):%s*(.*)$")
  if k then headers[k] = v end
end
local counter = 0

request = function()
  counter = counter + 1
  local path = nil
  if #paths > 0 then path = paths[(counter % #paths) + 1] end
  return wrk.format(method, path, headers, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_s": %.3f, "rps": %.1f, "errors": %d, "non_2xx": %d, '
    .. '"p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    errors, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
