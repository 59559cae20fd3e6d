-- delete.lua -- DELETE /api/patients/{id}, each id once: thread t of n
-- (PMS_BENCH_THREADS) takes ids t, t+n, t+2n, ... of PMS_BENCH_IDS
-- (a pool the runner inserts for each run) and stops when its share is used.
package.path = os.getenv("PMS_BENCH_DIR") .. "/?.lua;" .. package.path
local c = require("common")
local ids, headers, next_id, step
setup = c.setup_threads
function init(args)
  ids = c.load_ids()
  headers = c.headers()
  next_id = tonumber(wrk.thread:get("thread_id"))
  step = tonumber(os.getenv("PMS_BENCH_THREADS"))
end
function request()
  if next_id > #ids then
    wrk.thread:stop()
  end
  local id = ids[math.min(next_id, #ids)]
  next_id = next_id + step
  return wrk.format("DELETE", "/api/patients/" .. id, headers)
end
done = c.done
