-- wrk -s create_product.lua: POST /v1/products, a new SKU and Idempotency-Key per request.
-- Needs TOKEN (an admin's access token) in the environment.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local counter = 0
local prefix
function init(args)
  prefix = string.format("%x-%d", os.time(), tid)
end
function request()
  counter = counter + 1
  local id = string.upper(prefix) .. "-" .. counter .. "-" .. math.random(0, 0xffffff)
  return wrk.format("POST", "/v1/products", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
    ["Idempotency-Key"] = "k-" .. id,
  }, '{"sku":"W' .. id .. '","name":"Bench product","price_cents":1234,' ..
     '"currency":"EUR","category":"bench"}')
end
