#!/usr/bin/env bash
# Load benchmark, both servers in one run on loopback: an authenticated
# #[tool] server (JWT verified per request, cached) against a bare rmcp
# server with no authentication. Needs wrk (apt-get install wrk).
#
#   bench/run.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
conns="${2:-16}"
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p bench
target="${CARGO_TARGET_DIR:-target}/release"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$target/bench-rmcp" 38101 & pids+=($!)
"$target/bench-ours" 38102 "$work/key.pem" > "$work/token" & pids+=($!)
for _ in $(seq 50); do [ -s "$work/token" ] && break; sleep 0.1; done
sleep 0.5
export TOKEN; TOKEN="$(head -n1 "$work/token")"

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

# Both answer the same call correctly before being measured.
for port in 38101 38102; do
  out=$(curl -s "http://127.0.0.1:$port/mcp" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -H 'Mcp-Protocol-Version: 2025-06-18' \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}')
  grep -q '"text":"hello"' <<<"$out" || { echo "port $port answered: $out" >&2; exit 1; }
done

rps() { grep 'Requests/sec' | awk '{print $2}'; }
rss() { awk '/VmHWM/ {print $2 " kB"}' "/proc/$1/status"; }
echo "wrk: ${duration}s, ${conns} connections, 2 threads; tools/call echo"
base=$(AUTH=0 wrk -t2 -c"$conns" -d"${duration}s" -s "$work/call.lua" http://127.0.0.1:38101/mcp | rps)
ours=$(AUTH=1 wrk -t2 -c"$conns" -d"${duration}s" -s "$work/call.lua" http://127.0.0.1:38102/mcp | rps)
printf '%-44s %12s req/s  peak RSS %s\n' "rmcp, no auth (baseline)" "$base" "$(rss "${pids[0]}")"
printf '%-44s %12s req/s  peak RSS %s\n' "mcp-runtime, JWT + scope check" "$ours" "$(rss "${pids[1]}")"
awk -v a="$ours" -v b="$base" 'BEGIN { printf "ratio: %.1f%% of the baseline\n", 100 * a / b }'
