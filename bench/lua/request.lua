-- One wrk request shape, configured by environment variables (set by bench/run):
--   BENCH_METHOD     GET, PUT, POST (default GET)
--   BENCH_PATH       the request path; "{n}" in it (or in the body) becomes a name unique to this run
--                    ("<run>-<thread>-<count>", with BENCH_RUN set by bench/run for each wrk run)
--   BENCH_HEADERS    header lines "Name: value", separated by newlines (bearer token, Host, Content-Type, ...)
--   BENCH_BODY_FILE  a file whose content is the request body
--   BENCH_LIMIT      (fill mode) stop after this many requests in all; with BENCH_PATH containing "{i}", request
--                    number i (0-based, zero-padded to 6 digits) of the whole run, spread over the threads
--   BENCH_THREADS    (fill mode) wrk's -t
--   BENCH_DONE_DIR   (fill mode) a thread that has finished creates a file "thread-<n>" there; wrk itself runs
--                    until -d, so bench/run stops it with SIGINT once every thread is done
-- done() prints one line "BENCH_RESULT {json}" that bench/run parses (latencies in microseconds).

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local limit = tonumber(os.getenv("BENCH_LIMIT") or "")
local threads = tonumber(os.getenv("BENCH_THREADS") or "1")

local headers = {}
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then headers[name] = value end
end

local body = nil
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
    local file = assert(io.open(body_file, "rb"))
    body = file:read("*a")
    file:close()
end

-- Threads are numbered in setup() (which runs in the main environment) and learn their number through thread:set().
local thread_count = 0
function setup(thread)
    thread:set("thread_id", thread_count)
    thread_count = thread_count + 1
end

if path:find("{n}", 1, true) or (body and body:find("{n}", 1, true)) then
    -- A fresh name per request: "<run>-<thread>-<count>" (BENCH_RUN numbers the wrk runs of one bench/run).
    local run = os.getenv("BENCH_RUN") or "0"
    local count = 0
    function request()
        count = count + 1
        local name = run .. "-" .. thread_id .. "-" .. count
        return wrk.format(method, path:gsub("{n}", name), headers, body and body:gsub("{n}", name))
    end
elseif path:find("{i}", 1, true) and limit then
    -- Fill mode: request i of the whole run goes to thread (i mod threads); each thread stops once every one of
    -- its requests has had a 2xx answer. Until then, a connection with nothing left to send repeats a cheap
    -- unauthenticated GET (answered 401, not counted).
    local next_index = nil
    local checked = false
    local answered, mine = 0, nil
    local filler = wrk.format("GET", "/secrets/fill-wait?api-version=7.4", { Host = headers["Host"] }, nil)
    function request()
        -- wrk calls request() of its first thread once, before the run, to check that the request parses:
        -- that call must not use up an index.
        if thread_id == 0 and not checked then
            checked = true
            return filler
        end
        if next_index == nil then
            next_index = thread_id
            mine = math.floor((limit - thread_id + threads - 1) / threads)
        end
        if next_index >= limit then return filler end
        local p = path:gsub("{i}", string.format("%06d", next_index))
        next_index = next_index + threads
        return wrk.format(method, p, headers, body)
    end
    function response(status)
        if status >= 200 and status < 300 then
            answered = answered + 1
            if answered >= mine then
                local marker = io.open(os.getenv("BENCH_DONE_DIR") .. "/thread-" .. thread_id, "w")
                marker:close()
                wrk.thread:stop()
            end
        end
    end
else
    wrk.method = method
    wrk.path = path
    wrk.body = body
    for name, value in pairs(headers) do wrk.headers[name] = value end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,'
            .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
            .. '"latency_us":{"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
        summary.requests, summary.duration, summary.bytes,
        e.connect, e.read, e.write, e.status, e.timeout,
        latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency:percentile(99.9)))
end
