-- update.lua -- PUT /api/patients/{id} on random seeded ids.
package.path = os.getenv("PMS_BENCH_DIR") .. "/?.lua;" .. package.path
local c = require("common")
local ids, headers
setup = c.setup_threads
function init(args)
  c.thread_id = thread_id
  ids = c.load_ids()
  headers = c.headers()
end
function request()
  return wrk.format("PUT", "/api/patients/" .. ids[math.random(#ids)],
                    headers, c.patient_body("u"))
end
done = c.done
