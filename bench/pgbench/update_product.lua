-- wrk -s update_product.lua: PATCH /v1/products/{id} over the products in PRODUCTS
-- (comma-separated ids), each with the version its thread last saw. Each wrk thread owns its
-- own share of the products, so with enough products (100 per thread at -c32) no two requests
-- race for one; a 412 would show as non-2xx. Needs TOKEN (an admin's access token).
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local counter, ids, versions = 0, {}, {}
function init(args)
  local all, n = {}, 0
  for id in string.gmatch(os.getenv("PRODUCTS"), "[^,]+") do all[#all + 1] = id end
  local share = tonumber(os.getenv("THREADS") or "2")
  for i, id in ipairs(all) do
    if (i - 1) % share == tid then
      ids[#ids + 1] = id
      versions[id] = 1
    end
  end
end
function request()
  counter = counter + 1
  local id = ids[counter % #ids + 1]
  return wrk.format("PATCH", "/v1/products/" .. id, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
    ["If-Match"] = '"' .. versions[id] .. '"',
  }, '{"price_cents":' .. (1000 + counter % 500) .. '}')
end
local last = nil
function response(status, headers, body)
  -- A 200 names its product and version in the body; a 412 (a run that started after
  -- another one moved the versions on) carries the current version in its ETag.
  local id = string.match(body, '"id":"([0-9a-f-]+)"')
  local version = string.match(body, '"version":(%d+)')
  if id and version then
    versions[id] = tonumber(version)
  elseif status == 412 then
    local etag = headers["ETag"] or headers["etag"]
    local path = string.match(body, '"instance":"/v1/products/([0-9a-f-]+)"')
    if etag and path then versions[path] = tonumber(string.match(etag, "%d+")) end
  end
end
