-- wrk script for bench/bench_media.py: an LL-HLS client mix against one stream.
-- args: <dir> <video chunklist> <audio chunklist>   e.g. /app/s0/ chunklist_0_video_K_llhls.m3u8 ...
-- Every playlist response is parsed: the newest listed parts and segments and the preload hint
-- (msn, part) of its track are remembered; requests are chosen round-robin from MIX (20 slots):
--   4 x blocking video playlist  ?_HLS_msn=M&_HLS_part=P at the hint (parks until that part exists)
--   1 x blocking audio playlist  (same)
--   1 x plain video playlist, 1 x plain audio playlist
--   8 x video part (one of the 3 newest listed), 4 x audio part (same)
--   1 x video segment (one of the 2 newest complete)
-- Against a static server the same requests go out; the query string is then simply ignored.
local dir, pl = "", {}
local tracks = {}
local i = 0
local unpack_ = table.unpack or unpack
local MIX = {"bv", "bv", "bv", "bv", "ba", "pv", "pa", "v", "v", "v", "v", "v", "v", "v", "v",
             "a", "a", "a", "a", "s"}

init = function(args)
  dir = args[1]
  pl.v, pl.a = args[2], args[3]
  tracks.v = {parts = {}, segs = {}, msn = nil, part = nil}
  tracks.a = {parts = {}, segs = {}, msn = nil, part = nil}
end

local function playlist(t, blocking)
  local tr = tracks[t]
  if blocking and tr.msn then
    return wrk.format("GET", dir .. pl[t] .. "?_HLS_msn=" .. tr.msn .. "&_HLS_part=" .. tr.part)
  end
  return wrk.format("GET", dir .. pl[t])
end

request = function()
  i = i + 1
  local kind = MIX[(i % #MIX) + 1]
  if kind == "bv" then return playlist("v", true) end
  if kind == "ba" then return playlist("a", true) end
  if kind == "pv" then return playlist("v", false) end
  if kind == "pa" then return playlist("a", false) end
  if kind == "s" then
    local segs = tracks.v.segs
    if #segs > 0 then return wrk.format("GET", dir .. segs[#segs - (i % math.min(2, #segs))]) end
    return playlist("v", false)
  end
  local parts = tracks[kind].parts
  if #parts == 0 then return playlist(kind, false) end
  return wrk.format("GET", dir .. parts[#parts - (i % math.min(3, #parts))])
end

response = function(status, headers, body)
  if status ~= 200 or body == nil or body:sub(1, 7) ~= "#EXTM3U" then return end
  local t = body:find("_video_", 1, true) and "v" or "a"
  local parts, segs = {}, {}
  for uri in body:gmatch('#EXT%-X%-PART:[^\n]-URI="([^"]+)"') do parts[#parts + 1] = uri end
  for line in body:gmatch("\n(seg_[^\n]+)") do segs[#segs + 1] = line end
  local m, p = body:match('#EXT%-X%-PRELOAD%-HINT:TYPE=PART,URI="part_%d+_(%d+)_(%d+)_')
  local tr = tracks[t]
  if #parts > 0 then tr.parts = {unpack_(parts, math.max(1, #parts - 2))} end
  if #segs > 0 then tr.segs = {unpack_(segs, math.max(1, #segs - 1))} end
  if m then tr.msn, tr.part = m, p end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK-JSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"status_errors\":%d,\"socket_errors\":%d," ..
    "\"p50_us\":%d,\"p99_us\":%d,\"max_us\":%d}\n",
    summary.requests, summary.duration, summary.bytes, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
