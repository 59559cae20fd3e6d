-- mix.lua -- 80% GET by id, 10% POST, 10% PUT.
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
  local r = math.random(10)
  if r <= 8 then
    return wrk.format("GET", "/api/patients/" .. ids[math.random(#ids)], headers)
  elseif r == 9 then
    return wrk.format("POST", "/api/patients", headers, c.patient_body("m"))
  end
  return wrk.format("PUT", "/api/patients/" .. ids[math.random(#ids)],
                    headers, c.patient_body("m"))
end
done = c.done
