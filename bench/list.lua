-- list.lua -- GET a page of 50 from the seeded table, random page.
package.path = os.getenv("PMS_BENCH_DIR") .. "/?.lua;" .. package.path
local c = require("common")
local headers
setup = c.setup_threads
function init(args)
  headers = c.headers()
end
function request()
  return wrk.format("GET", "/api/patients?size=50&page=" .. math.random(200),
                    headers)
end
done = c.done
