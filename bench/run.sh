#!/usr/bin/env bash
# Load benchmark, every server in one run on loopback, each figure a ratio to
# baselines measured in the same run:
#   - rmcp: a bare rmcp stateless JSON server, `echo` tool, no authentication;
#   - hyper: a bare hyper server answering a fixed reply (the HTTP limit of
#     this shape), and its fixed 401;
#   - ours: an authenticated, scope-checked `#[tool]` echo (JWT verified,
#     cached), with the direct path (the default) and without it (DIRECT=0),
#     and our 401 for a request without a token.
# Rounds are interleaved (every case once per round) and the median of the
# rounds is reported. With valgrind installed, instructions per request
# (callgrind, which does not drift with the machine's load) follow.
# Needs wrk (apt-get install wrk).
#
#   bench/run.sh [DURATION_SECONDS] [CONNECTIONS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-5}"
conns="${2:-16}"
rounds="${3:-3}"
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p bench
target="${CARGO_TARGET_DIR:-target}/release"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$target/bench-rmcp" 38101 & pids+=($!)
"$target/bench-ours" 38102 "$work/key.pem" > "$work/token" & pids+=($!)
DIRECT=0 "$target/bench-ours" 38103 "$work/key.pem" > "$work/token-b" & pids+=($!)
"$target/bench-hyper" 38104 & pids+=($!)
for _ in $(seq 50); do [ -s "$work/token" ] && [ -s "$work/token-b" ] && break; sleep 0.1; done
sleep 0.5
export TOKEN; TOKEN="$(head -n1 "$work/token")"
# Each of our servers accepts only its own tokens (the audience names its port).
token_of() { if [ "$1" = 38103 ]; then head -n1 "$work/token-b"; else echo "$TOKEN"; fi; }

cat > "$work/call.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Protocol-Version"] = "2025-06-18"
local token = os.getenv("TOKEN")
if token and os.getenv("AUTH") == "1" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
LUA

# Every server answers the same call correctly before being measured.
for port in 38101 38102 38103 38104; do
  out=$(curl -s "http://127.0.0.1:$port/mcp" -H "Authorization: Bearer $(token_of "$port")" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -H 'Mcp-Protocol-Version: 2025-06-18' \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}')
  grep -q '"text":"hello"' <<<"$out" || { echo "port $port answered: $out" >&2; exit 1; }
done
for port in 38102 38104; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/mcp" -X POST \
    -H 'Content-Type: application/json' -d '{}')
  [ "$code" = 401 ] || { echo "port $port answered $code without a token" >&2; exit 1; }
done

# name|port|AUTH
cases=(
  "rmcp, no auth (baseline)|38101|0"
  "hyper, fixed 200 (HTTP limit)|38104|1"
  "hyper, fixed 401|38104|0"
  "ours: JWT + scope check, direct path|38102|1"
  "ours: JWT + scope check, rmcp transport|38103|1"
  "ours: 401 without a token|38102|0"
)
rps() { grep 'Requests/sec' | awk '{print $2}'; }
declare -A runs
for r in $(seq "$rounds"); do
  for c in "${cases[@]}"; do
    IFS='|' read -r name port auth <<<"$c"
    v=$(TOKEN=$(token_of "$port") AUTH=$auth wrk -t2 -c"$conns" -d"${duration}s" -s "$work/call.lua" "http://127.0.0.1:$port/mcp" | rps)
    runs[$name]="${runs[$name]:-} $v"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A med
for c in "${cases[@]}"; do
  IFS='|' read -r name _ _ <<<"$c"
  med[$name]=$(median <<<"${runs[$name]}")
done
rss() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
echo "wrk: ${rounds} interleaved rounds of ${duration}s, ${conns} connections, 2 threads; tools/call echo; medians"
base=${med["rmcp, no auth (baseline)"]}
limit=${med["hyper, fixed 200 (HTTP limit)"]}
printf '%-44s %12s %10s %10s\n' "server" "req/s" "÷ rmcp" "÷ hyper"
for c in "${cases[@]}"; do
  IFS='|' read -r name _ _ <<<"$c"
  v=${med[$name]}
  ref=$limit
  [[ $name == *401* ]] && ref=${med["hyper, fixed 401"]}
  awk -v n="$name" -v v="$v" -v b="$base" -v l="$ref" \
    'BEGIN { printf "%-44s %12.0f %9.2fx %9.2fx\n", n, v, v / b, v / l }'
done
echo "peak RSS: rmcp $(rss "${pids[0]}") kB, ours $(rss "${pids[1]}") kB, ours without the direct path $(rss "${pids[2]}") kB"

command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || {
  echo "(valgrind not found: no instruction counts)"
  exit 0
}
# Instructions per request: each server under callgrind, counting only while
# wrk loads it (start-up excluded), divided by the requests wrk completed.
cg() { # name port auth env command...
  local name=$1 port=$2 auth=$3 env=$4
  local out="$work/cg.$port"
  # shellcheck disable=SC2086
  env $env valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    "${@:5}" >"$work/out.$port" 2>"$work/vg.$port" &
  local pid=$!
  for _ in $(seq 150); do
    curl -s -o /dev/null "http://127.0.0.1:$port/mcp" -X POST -d '{}' && break
    sleep 0.2
  done
  # The server's own token when it prints one (its audience names its port).
  local token; token=$(head -n1 "$work/out.$port")
  callgrind_control -i on "$pid" >/dev/null 2>&1
  local n
  n=$(TOKEN=$token AUTH=$auth wrk -t1 -c4 -d5s -s "$work/call.lua" "http://127.0.0.1:$port/mcp" |
    awk '/requests in/ {print $1}')
  callgrind_control -i off "$pid" >/dev/null 2>&1
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local ir
  ir=$(cat "$out"* 2>/dev/null | awk '/^summary:|^totals:/ {s += $2} END {print s + 0}')
  awk -v n="$name" -v ir="$ir" -v r="$n" \
    'BEGIN { printf "%-44s %12.0f instructions/request (%d requests)\n", n, ir / r, r }'
}
echo "callgrind, 4 connections, 5 s each:"
cg "rmcp, no auth (baseline)" 38201 0 "" "$target/bench-rmcp" 38201
cg "hyper, fixed 200" 38204 1 "" "$target/bench-hyper" 38204
cg "ours: JWT + scope check, direct path" 38202 1 "DIRECT=1" "$target/bench-ours" 38202 "$work/key.pem"
cg "ours: JWT + scope check, rmcp transport" 38203 1 "DIRECT=0" "$target/bench-ours" 38203 "$work/key.pem"
cg "hyper, fixed 401" 38206 0 "" "$target/bench-hyper" 38206
cg "ours: 401 without a token" 38205 0 "DIRECT=1" "$target/bench-ours" 38205 "$work/key.pem"
