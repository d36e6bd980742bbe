-- wrk load script for POST /v1/events: every request carries fresh Blackbox envelopes.
--
--   wrk -t2 -c32 -d15s --latency -s bench/wrk_events.lua http://127.0.0.1:PORT/v1/events -- TAG BATCH SESSIONS
--
-- TAG makes native ids unique per run, BATCH is events per request (1 = a bare object, else a JSON
-- array), SESSIONS is how many sessions (= streams) the events are spread over. The document shape
-- is tests/helpers.py::envelope. Each wrk thread numbers its own events, so native ids never repeat
-- and nothing dedupes. At the end one line reports what the server answered:
--   BENCH ok=<200 responses> bad=<other responses> acked=<sum of "appended" in 200 responses>

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  tag = args[1] or "run"
  batch = tonumber(args[2] or "1")
  sessions = tonumber(args[3] or "32")
  counter = 0
  ok = 0
  bad = 0
  acked = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

local function envelope(n)
  local session = "bench-" .. tag .. "-" .. (n % sessions)
  return string.format(
    '{"source":"bench-agent","native_id":"%s/%d/%d","stream":"%s","session_id":"%s",' ..
    '"kind":"tool_call","time":"2026-04-24T%02d:%02d:%02dZ","tool_name":"Bash",' ..
    '"call_id":"call-%d-%d","tool_input":{"command":"echo %d"},"raw":{"n":%d,"thread":%d}}',
    tag, tid, n, session, session, math.floor(n / 3600) % 24, math.floor(n / 60) % 60, n % 60,
    tid, n, n, n, tid)
end

function request()
  local parts = {}
  for i = 1, batch do
    counter = counter + 1
    parts[i] = envelope(counter)
  end
  local body = parts[1]
  if batch > 1 then
    body = "[" .. table.concat(parts, ",") .. "]"
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
    local appended = string.match(body, '"appended":(%d+)')
    if appended then
      acked = acked + tonumber(appended)
    end
  else
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total_ok, total_bad, total_acked = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_bad = total_bad + thread:get("bad")
    total_acked = total_acked + thread:get("acked")
  end
  io.write(string.format("BENCH ok=%d bad=%d acked=%d\n", total_ok, total_bad, total_acked))
end
