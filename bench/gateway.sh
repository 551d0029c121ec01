#!/usr/bin/env bash
# The OpenAI-compatible door as a gateway, side by side with LiteLLM's proxy and with nginx as a bare reverse
# proxy (the floor: what any proxy hop costs on this machine) and a bare Hummingbird + AsyncHTTPClient proxy
# (bench/floor: the floor of the stack Arcanos is built on), each in front of the same upstream:
#   - whole answers: nginx answering a fixed chat completion (so the upstream costs as little as possible);
#   - streams: `arcanos-dev mock-llm` streaming one chunk per word, the first at once (time to first token).
# Measures, with the same wrk settings for every target, alternating targets, `rounds` times:
#   (1) throughput: wrk -t2 -c64, req/s, p50 and p99;
#   (2) added latency at a fixed ~1,000 req/s: wrk has no rate option (wrk2 is not installed here), so the rate
#       is fixed by its Lua delay(): 10 connections, each waiting 10 ms after every answer, ≈ 1,000 req/s less the
#       latency itself (the measured rate is printed); added = gateway minus upstream alone, at p50 and p99;
#   (3) added time to first token: sequential streamed requests, interleaved across targets, time from sending
#       the request to the first content chunk; added = gateway minus the streaming fake alone.
# Usage: bench/gateway.sh [seconds-per-run] [rounds] [ttft-requests]   (default 10 s, 3 rounds, 300 requests)
# ARCANOS_BENCH_SKIP_BUILD=1 reuses the last release build; ARCANOS_BENCH_LITELLM=0 skips LiteLLM (skipped too
# when it does not install: pip, in the venv bench/load.sh uses). Needs wrk, nginx, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
rounds=${2:-3}
ttft_requests=${3:-300}
scratch=${ARCANOS_BENCH_SCRATCH:-.build-release}
venv=${ARCANOS_BENCH_VENV:-.build-bench/litellm}
for tool in wrk nginx curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release --build-path "$scratch" --product arcanos >&2
[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release --build-path "$scratch" --product arcanos-dev >&2
bin="$scratch/release/arcanos"
dev_bin="$scratch/release/arcanos-dev"
upstream_port=17001   # nginx: the fixed completion
floor_port=17002      # nginx: bare reverse proxy to 17001 (whole answers) and to the streaming fake (/stream/)
hb_floor_port=17004   # bench/floor: bare Hummingbird + AsyncHTTPClient proxy to 17001
stream_port=17003     # arcanos-dev mock-llm: streams
arcanos_port=17010    # Arcanos in front of nginx
arcanos_stream_port=17011
litellm_port=17020
litellm_stream_port=17021
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_for() { # url [method] [body]
    for _ in $(seq 1 600); do
        curl -sf -o /dev/null -X "${2:-GET}" -H 'content-type: application/json' ${3:+-d "$3"} "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for $1" >&2
    return 1
}

completion='{"id":"chatcmpl-fixed","object":"chat.completion","created":1764547200,"model":"mock-model","choices":[{"index":0,"message":{"role":"assistant","content":"Mock answer: yes."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}'
nginx_conf() { # port body-of-server-block
    cat <<NGINX
daemon off;
worker_processes 1;
user root;
pid $work/nginx-$1.pid;
error_log $work/nginx-$1.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    upstream fixed { server 127.0.0.1:$upstream_port; keepalive 128; }
    upstream streaming { server 127.0.0.1:$stream_port; keepalive 32; }
    server {
        listen 127.0.0.1:$1 backlog=4096;
        $2
    }
}
NGINX
}
nginx_conf "$upstream_port" "location / { default_type application/json; return 200 '$completion'; }" >"$work/upstream.conf"
nginx_conf "$floor_port" "
        location /stream/ { proxy_pass http://streaming/; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; }
        location / { proxy_pass http://fixed; proxy_http_version 1.1; proxy_set_header Connection \"\"; }" >"$work/floor.conf"
nginx -p "$work" -c "$work/upstream.conf" & pids+=($!)
nginx -p "$work" -c "$work/floor.conf" & pids+=($!)
"$dev_bin" mock-llm --port "$stream_port" --mode ok >"$work/mock.log" 2>&1 & pids+=($!)
serve() { # port base-url
    mkdir -p "$work/data-$1"
    OPENAI_API_KEY=bench OPENAI_BASE_URL="$2" AI_MODEL=mock-model OPENAI_TIMEOUT_MS=10000 SELF_TEST_INTERVAL_MS=0 \
        RUN_WORKERS=false ARCANOS_LOG_LEVEL=error "$bin" serve --port "$1" --data-dir "$work/data-$1" \
        >"$work/serve-$1.log" 2>&1 &
    pids+=($!)
}
serve "$arcanos_port" "http://127.0.0.1:$upstream_port/v1"
serve "$arcanos_stream_port" "http://127.0.0.1:$stream_port/v1"
chat='{"model":"mock-model","messages":[{"role":"user","content":"Are you online? Answer in one word."}]}'
wait_for "http://127.0.0.1:$upstream_port/v1/chat/completions" POST "$chat"
wait_for "http://127.0.0.1:$floor_port/v1/chat/completions" POST "$chat"
wait_for "http://127.0.0.1:$stream_port/_mock"
wait_for "http://127.0.0.1:$arcanos_port/health"
wait_for "http://127.0.0.1:$arcanos_stream_port/health" || { tail -5 "$work"/serve-*.log >&2; exit 1; }

targets=("upstream http://127.0.0.1:$upstream_port/v1/chat/completions"
    "nginx http://127.0.0.1:$floor_port/v1/chat/completions"
    "arcanos http://127.0.0.1:$arcanos_port/v1/chat/completions")
# The floor of the stack Arcanos is built on: a bare Hummingbird + AsyncHTTPClient proxy (bench/floor, no
# validation, middleware, breaker or metrics) in front of the same upstream. ARCANOS_BENCH_FLOOR=0 skips it.
if [ "${ARCANOS_BENCH_FLOOR:-1}" = 1 ]; then
    [ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --package-path bench/floor >&2
    FLOOR_MAX_CONNECTIONS=64 bench/floor/.build/release/ProxyFloor "$hb_floor_port" "http://127.0.0.1:$upstream_port/v1" \
        >"$work/hb-floor.log" 2>&1 & pids+=($!)
    wait_for "http://127.0.0.1:$hb_floor_port/ask" POST "$chat"
    targets+=("hb-floor http://127.0.0.1:$hb_floor_port/ask")
fi
stream_targets=("fake http://127.0.0.1:$stream_port/v1/chat/completions"
    "nginx http://127.0.0.1:$floor_port/stream/v1/chat/completions"
    "arcanos http://127.0.0.1:$arcanos_stream_port/v1/chat/completions")
litellm_version=""
if [ "${ARCANOS_BENCH_LITELLM:-1}" = 1 ]; then
    if [ ! -x "$venv/bin/litellm" ]; then
        echo "installing LiteLLM's proxy into $venv (pip)" >&2
        { python3 -m venv "$venv" && "$venv/bin/pip" install -q "litellm[proxy]==${ARCANOS_BENCH_LITELLM_VERSION:-1.74.9}"; } >"$work/pip.log" 2>&1 \
            || echo "LiteLLM did not install; skipped (see pip's log)" >&2
    fi
    if [ -x "$venv/bin/litellm" ]; then
        for pair in "$litellm_port $upstream_port" "$litellm_stream_port $stream_port"; do
            set -- $pair
            OPENAI_API_KEY=bench "$venv/bin/litellm" --model openai/mock-model --api_base "http://127.0.0.1:$2/v1" \
                --port "$1" --host 127.0.0.1 >>"$work/litellm.log" 2>&1 &
            pids+=($!)
        done
        if wait_for "http://127.0.0.1:$litellm_port/health/liveliness" && wait_for "http://127.0.0.1:$litellm_stream_port/health/liveliness"; then
            litellm_version=$("$venv/bin/pip" show litellm 2>/dev/null | awk '/^Version/ {print $2}')
            targets+=("litellm http://127.0.0.1:$litellm_port/chat/completions")
            stream_targets+=("litellm http://127.0.0.1:$litellm_stream_port/chat/completions")
        else
            echo "LiteLLM's proxy did not start; skipped" >&2; tail -5 "$work/litellm.log" >&2
        fi
    fi
fi

cat >"$work/report.lua" <<'LUA'
function done(summary, latency, requests)
    local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
    io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f non2xx=%d socket_errors=%d\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
        summary.errors.status, errors))
end
LUA
{
    cat "$work/report.lua"
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' "'$chat'"
    printf 'wrk.headers["Authorization"] = "Bearer bench"\n'
} >"$work/post.lua"
{ cat "$work/post.lua"; printf 'function delay() return 10 end\n'; } >"$work/paced.lua"

echo "== commit $(git rev-parse --short HEAD), $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)${litellm_version:+, LiteLLM $litellm_version}"
results=$work/results.txt
for round in $(seq 1 "$rounds"); do
    # Alternate the order every round, so that no target always runs first (or last) on a drifting machine.
    order=()
    if ((round % 2 == 0)); then
        for ((i = ${#targets[@]} - 1; i >= 0; i--)); do order+=("${targets[i]}"); done
    else
        order=("${targets[@]}")
    fi
    for entry in "${order[@]}"; do
        set -- $entry
        line=$(wrk -t2 -c64 -d"${duration}s" --latency -s "$work/post.lua" "$2" | grep '^RESULT')
        echo "round $round throughput $1 ${line#RESULT } load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$results"
        line=$(wrk -t2 -c10 -d"${duration}s" --latency -s "$work/paced.lua" "$2" | grep '^RESULT')
        echo "round $round paced $1 ${line#RESULT } load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$results"
    done
done

cat >"$work/ttft.py" <<'PY'
"""Time to first token: sequential streamed requests, interleaved across targets (one request to each in turn),
each on a fresh loopback connection; the clock runs from sending the request to the first content chunk."""
import re, socket, statistics, sys, time
from urllib.parse import urlsplit

count = int(sys.argv[1])
targets = [(name, urlsplit(url)) for name, url in zip(sys.argv[2::2], sys.argv[3::2])]
body = b'{"model":"mock-model","stream":true,"messages":[{"role":"user","content":"Are you online? Answer in one word."}]}'
first = re.compile(rb'"content":\s*"Mock')
samples = {name: [] for name, _ in targets}
for _ in range(count):
    for name, url in targets:
        sock = socket.create_connection((url.hostname, url.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = (f"POST {url.path} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\nContent-Type: application/json\r\n"
                   f"Authorization: Bearer bench\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        seen = b""
        start = time.perf_counter()
        sock.sendall(request)
        while not first.search(seen):
            data = sock.recv(65536)
            if not data:
                raise SystemExit(f"{name}: stream ended before its first token: {seen[:300]!r}")
            seen += data
        samples[name].append((time.perf_counter() - start) * 1000)
        while data and b"[DONE]" not in seen[-64:]:
            data = sock.recv(65536)
            seen += data
        sock.close()
for name, values in samples.items():
    values.sort()
    print(f"ttft {name} n={len(values)} p50_ms={statistics.median(values):.3f} p99_ms={values[int(len(values) * 0.99) - 1]:.3f}")
PY
args=()
for entry in "${stream_targets[@]}"; do set -- $entry; args+=("$1" "$2"); done
python3 "$work/ttft.py" "$ttft_requests" "${args[@]}" | tee -a "$results"

echo "== summary (median over rounds; added = target minus the upstream alone, same wrk settings)"
python3 - "$results" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    fields = line.split()
    if fields[0] == "round":
        kind, name = fields[2], fields[3]
        values = dict(f.split("=") for f in fields[4:])
        rows.setdefault((kind, name), []).append(values)
    elif fields[0] == "ttft":
        rows[("ttft", fields[1])] = [dict(f.split("=") for f in fields[2:])]
med = lambda kind, name, key: statistics.median(float(v[key]) for v in rows[(kind, name)])
names = [n for (k, n) in rows if k == "throughput"]
print("| target | req/s (wrk -t2 -c64) | p50 | p99 | at ~1,000 req/s: rate | p50 | p99 | added p50 | added p99 |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for n in names:
    print(f"| {n} | {med('throughput', n, 'rps'):,.0f} | {med('throughput', n, 'p50_ms'):.2f} ms | {med('throughput', n, 'p99_ms'):.2f} ms "
          f"| {med('paced', n, 'rps'):,.0f} | {med('paced', n, 'p50_ms'):.3f} ms | {med('paced', n, 'p99_ms'):.3f} ms "
          f"| {med('paced', n, 'p50_ms') - med('paced', 'upstream', 'p50_ms'):+.3f} ms | {med('paced', n, 'p99_ms') - med('paced', 'upstream', 'p99_ms'):+.3f} ms |")
if ("throughput", "litellm") in rows:
    print(f"arcanos / litellm req/s: {med('throughput', 'arcanos', 'rps') / med('throughput', 'litellm', 'rps'):.1f}x")
base = [k for k in rows if k[0] == "ttft" and k[1] == "fake"]
if base:
    b = float(rows[("ttft", "fake")][0]["p50_ms"]); b99 = float(rows[("ttft", "fake")][0]["p99_ms"])
    for (k, n) in rows:
        if k == "ttft":
            v = rows[(k, n)][0]
            print(f"ttft {n}: p50 {float(v['p50_ms']):.3f} ms (added {float(v['p50_ms']) - b:+.3f}), p99 {float(v['p99_ms']):.3f} ms (added {float(v['p99_ms']) - b99:+.3f})")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
