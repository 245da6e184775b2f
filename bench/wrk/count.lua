-- wrk script of peer_compare.py: a fixed request (args: method, then for a POST the Authorization
-- header value and the form body); counts every response whose status is not 200 and prints
-- "non200 <n>" when the run ends.
non200 = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  if args[1] == "POST" then
    wrk.method = "POST"
    wrk.headers["Authorization"] = args[2]
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
    wrk.body = args[3]
  end
end

function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  local n = 0
  for _, thread in ipairs(threads) do n = n + thread:get("non200") end
  io.write(string.format("non200 %d\n", n))
end
