-- wrk -s adjust_stock.lua: POST /v1/inventory/{id}/adjustments over the products in PRODUCTS
-- (comma-separated ids), a new Idempotency-Key per request. Needs TOKEN (an admin's).
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local counter, ids, prefix = 0, {}, nil
function init(args)
  prefix = string.format("%x-%d", os.time(), tid)
  for id in string.gmatch(os.getenv("PRODUCTS"), "[^,]+") do ids[#ids + 1] = id end
end
function request()
  counter = counter + 1
  return wrk.format("POST", "/v1/inventory/" .. ids[counter % #ids + 1] .. "/adjustments", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
    ["Idempotency-Key"] = "a-" .. prefix .. "-" .. counter .. "-" .. math.random(0, 0xffffff),
  }, '{"delta":1,"reason":"bench"}')
end
