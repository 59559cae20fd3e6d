-- create.lua -- POST /api/patients with a unique email each time (auth,
-- insert, billing over gRPC and the outbox row, as the stack has them).
package.path = os.getenv("PMS_BENCH_DIR") .. "/?.lua;" .. package.path
local c = require("common")
local headers
setup = c.setup_threads
function init(args)
  c.thread_id = thread_id
  headers = c.headers()
end
function request()
  return wrk.format("POST", "/api/patients", headers, c.patient_body("c"))
end
done = c.done
