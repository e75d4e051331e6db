-- Paced load for the graph benchmark: the shared request rotation and JSON summary, plus a
-- fixed pause before each request on every connection (WRK_DELAY_MS). With C connections
-- the offered rate is about C / (delay + latency), so a target rate can be approached
-- without each connection firing back-to-back. wrk's latency excludes the pause.
dofile(os.getenv("WRK_SHARED_SCRIPT"))

local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")

delay = function()
  return pause
end
