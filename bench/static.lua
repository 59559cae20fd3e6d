-- static.lua -- the baselines: a plain GET, with done() reporting JSON.
package.path = os.getenv("PMS_BENCH_DIR") .. "/?.lua;" .. package.path
local c = require("common")
done = c.done
