-- paths.lua -- GET a random line of PMS_BENCH_PATHS: the list and search
-- scenarios (first page, bounded offset pages, cursor pages deep in the
-- table, name fragments, exact emails), each with its own file written by
-- run.py from the table as it is.
package.path = os.getenv("PMS_BENCH_DIR") .. "/?.lua;" .. package.path
local c = require("common")
local paths, headers
setup = c.setup_threads
function init(args)
  paths = c.load_lines("PMS_BENCH_PATHS")
  headers = c.headers()
end
function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
done = c.done
