-- wrk script of peer_compare.py: refresh-token rotation. args: Authorization header value, a file
-- with one refresh token per line (more tokens than connections), extra form parameters ("" or
-- "&resource=..."). Each request takes a token from the pool and each 200 answer puts its new
-- refresh token back, so every token is used once, as a rotating client would. Counts every response
-- whose status is not 200 (or that carries no new refresh token) and prints "non200 <n>" at the end.
non200 = 0
local threads = {}
local pool = {}
local auth, extra

function setup(thread)
  table.insert(threads, thread)
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  auth = args[1]
  for line in io.lines(args[2]) do
    if line ~= "" then table.insert(pool, line) end
  end
  extra = args[3] or ""
end

function request()
  local token = table.remove(pool, 1) or "pool-empty"
  return wrk.format("POST", nil, {
    ["Authorization"] = auth,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "grant_type=refresh_token&refresh_token=" .. urlencode(token) .. extra)
end

function response(status, headers, body)
  local token = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then
    table.insert(pool, token)
  else
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local n = 0
  for _, thread in ipairs(threads) do n = n + thread:get("non200") end
  io.write(string.format("non200 %d\n", n))
end
