-- get_by_id.lua -- GET /api/patients/{id} for random seeded ids.
package.path = os.getenv("PMS_BENCH_DIR") .. "/?.lua;" .. package.path
local c = require("common")
local ids, headers
setup = c.setup_threads
function init(args)
  ids = c.load_ids()
  headers = c.headers()
end
function request()
  return wrk.format("GET", "/api/patients/" .. ids[math.random(#ids)], headers)
end
done = c.done
