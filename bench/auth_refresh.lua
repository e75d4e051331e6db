-- wrk script for the refresh benchmark: every request presents a different refresh token
-- (refresh tokens are single use). Tokens come one per line from WRK_TOKENS_FILE; the JSON
-- summary line is the shared one of wrk_report.lua (WRK_REPORT).
dofile(os.getenv("WRK_REPORT"))

local tokens = {}
for line in io.lines(os.getenv("WRK_TOKENS_FILE")) do
  if #line > 0 then table.insert(tokens, line) end
end
local next_token = 0
local headers = { ["Content-Type"] = "application/json" }

request = function()
  next_token = next_token + 1
  local token = tokens[((next_token - 1) % #tokens) + 1]
  return wrk.format("POST", nil, headers, '{"refresh": "' .. token .. '"}')
end
