-- wrk script for the feature server: POST /get-online-features with the
-- first <features> features of view <view> and <entities> driver ids drawn
-- at random from 0..<ids>-1, the request users and other benchmarks send:
--
--   {"features": ["stats:f00", ...], "entities": {"driver_id": [4711, ...]}}
--
-- wrk -t1 -c8 -d6s -s bench/serving/online.lua http://127.0.0.1:6566 -- <entities> [features] [view] [ids] [path]
--
-- Defaults: 1 entity, 10 features, view "stats", 10000 ids, path
-- /get-online-features. When wrk finishes, a line "wrk-result ..." gives the
-- counts and latencies in machine-readable form (go run ./bench/serving -wrk
-- reads it).

local entities, ids, path, head

function init(args)
  entities = tonumber(args[1] or "1")
  local features = tonumber(args[2] or "10")
  local view = args[3] or "stats"
  ids = tonumber(args[4] or "10000")
  path = args[5] or "/get-online-features"
  local refs = {}
  for i = 0, features - 1 do
    refs[#refs + 1] = string.format('"%s:f%02d"', view, i)
  end
  head = '{"features":[' .. table.concat(refs, ",") .. '],"entities":{"driver_id":['
  math.randomseed(os.time())
end

local headers = { ["Content-Type"] = "application/json" }

function request()
  local ids_ = {}
  for i = 1, entities do
    ids_[i] = math.random(0, ids - 1)
  end
  return wrk.format("POST", path, headers, head .. table.concat(ids_, ",") .. "]}}")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk-result requests=%d duration_us=%d non2xx=%d errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
