-- common.lua -- shared by every wrk scenario of ./pms bench: the bearer
-- token, the seeded ids, unique emails per thread, and a done() that
-- prints one JSON line the runner parses.
local M = {}

M.token = os.getenv("PMS_BENCH_TOKEN") or ""
M.run = os.getenv("PMS_BENCH_RUN") or tostring(os.time())

function M.headers(extra)
  local h = { ["Content-Type"] = "application/json" }
  if M.token ~= "" then h["Authorization"] = "Bearer " .. M.token end
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

function M.load_lines(var)
  local lines = {}
  local f = assert(io.open(os.getenv(var), "r"))
  for line in f:lines() do
    if line ~= "" then lines[#lines + 1] = line end
  end
  f:close()
  return lines
end

function M.load_ids()
  return M.load_lines("PMS_BENCH_IDS")
end

local counter = 0
function M.unique_email(tag)
  counter = counter + 1
  return string.format("%s-%s-%s-%d@bench.example.com", tag, M.run,
                       M.thread_id or "0", counter)
end

function M.patient_body(tag)
  return string.format(
    '{"name":"Bench Patient %d","email":"%s","address":"1 Load Street",' ..
    '"dateOfBirth":"1980-01-02","registeredDate":"2020-01-02"}', counter,
    M.unique_email(tag))
end

function M.setup_threads(thread)
  M.next_thread = (M.next_thread or 0) + 1
  thread:set("thread_id", tostring(M.next_thread))
end

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'PMS_BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"non2xx":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.max,
    latency.mean, e.status, e.connect, e.read, e.write, e.timeout))
end

return M
