#!/usr/bin/env bash
# Load benchmark: every server in one run on loopback, each figure a ratio to
# a baseline measured in the same run. The servers:
#   - rmcp: a bare rmcp stateless server, `echo` tool, no authentication
#     (JSON answers, or SSE streams);
#   - hyper: a bare hyper server answering a fixed reply (the HTTP limit of
#     this shape), and its fixed 401;
#   - ours: an authenticated, scope-checked `#[tool]` echo (JWT verified,
#     cached), with the direct path (the default) and without it, answering
#     in JSON or as SSE streams, with 1, 100 or 1,000 tools registered, and
#     with 1, 1,000 or 100,000 distinct valid tokens in use.
# Sections (all by default, or those named in SECTIONS):
#   headline  tools/call echo: ours against rmcp and hyper, 200 and 401, JSON and SSE
#   tools     tools/list and tools/call with 1, 100 and 1,000 tools, ours against rmcp
#   args      tools/call with a 100 B, 10 KB and 1 MB argument, ours against rmcp
#   tokens    1, 1,000 and 100,000 distinct tokens: throughput, CPU, cache hits, RSS
# Rounds are interleaved (every case once per round) and medians reported.
# CPU per request is the server's CPU time (user + system) over the requests
# wrk completed. With valgrind installed, the headline's instructions per
# request (callgrind, which does not drift with the machine's load) follow.
# Needs wrk (apt-get install wrk).
#
#   bench/run.sh [DURATION_SECONDS] [CONNECTIONS] [ROUNDS]
#   SECTIONS="headline tokens" bench/run.sh 5 16 3
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-3}"
conns="${2:-16}"
rounds="${3:-3}"
sections="${SECTIONS:-headline tools args tokens}"
has() { [[ " $sections " == *" $1 "* ]]; }
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p bench --features many-tools
target="${CARGO_TARGET_DIR:-target}/release"
work="$(mktemp -d)"
declare -A pid
cleanup() { for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# --- servers: port -> process; ours print their tokens to $work/tokens.PORT
ours() { # port env...
  local port=$1
  env "${@:2}" "$target/bench-ours" "$port" "$work/key.pem" >"$work/tokens.$port" &
  pid[$port]=$!
}
rmcp() { # port env...
  env "${@:2}" "$target/bench-rmcp" "$1" & pid[$1]=$!
}
hyper() { "$target/bench-hyper" "$1" & pid[$1]=$!; }

# One key for every server of ours: created by the first, then shared.
ours 38102
for _ in $(seq 100); do [ -s "$work/tokens.38102" ] && break; sleep 0.1; done
rmcp 38101
hyper 38104
if has headline; then
  ours 38103 DIRECT=0
  ours 38105 SSE=1
  rmcp 38106 SSE=1
fi
if has tools; then
  ours 38110 TOOLS=100
  ours 38111 TOOLS=1000
  rmcp 38112 TOOLS=100
  rmcp 38113 TOOLS=1000
fi
if has args; then
  ours 38130
  rmcp 38131
fi
if has tokens; then
  ours 38120 TOKENS=1
  ours 38121 TOKENS=1000
  ours 38122 TOKENS=100000
fi
want_tokens() { case $1 in 38121) echo 1000 ;; 38122) echo 100000 ;; *) echo 1 ;; esac; }
for port in "${!pid[@]}"; do
  if [ -e "$work/tokens.$port" ]; then
    n=$(want_tokens "$port")
    for _ in $(seq 600); do
      [ "$(wc -l <"$work/tokens.$port")" -ge "$n" ] && break
      sleep 0.1
    done
  fi
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/mcp" -X POST -d '{}' && break
    sleep 0.1
  done
done

# --- request bodies and the wrk script
call_body() { # text length -> tools/call echo
  python3 -c "import json,sys; print(json.dumps({'jsonrpc':'2.0','id':1,'method':'tools/call','params':{'name':'echo','arguments':{'text':sys.argv[1]}}}, separators=(',',':')), end='')" "$1"
}
call_body hello >"$work/call"
call_body "$(head -c 100 /dev/zero | tr '\0' a)" >"$work/call.100"
call_body "$(head -c 10240 /dev/zero | tr '\0' a)" >"$work/call.10k"
python3 -c "import json; print(json.dumps({'jsonrpc':'2.0','id':1,'method':'tools/call','params':{'name':'echo','arguments':{'text':'a'*1048576}}}, separators=(',',':')), end='')" >"$work/call.1m"
printf '%s' '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' >"$work/list"

cat >"$work/bench.lua" <<'LUA'
-- BODY_FILE: the request body; TOKENS_FILE: bearer tokens, one per line,
-- sent in turn (none: no Authorization header).
wrk.method = "POST"
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Protocol-Version"] = "2025-06-18"
local tokens = {}
local file = os.getenv("TOKENS_FILE")
if file and file ~= "" then
  for line in io.lines(file) do
    if line ~= "" then tokens[#tokens + 1] = line end
  end
end
if #tokens == 1 then
  wrk.headers["Authorization"] = "Bearer " .. tokens[1]
elseif #tokens > 1 then
  local i = 0
  function init(args)
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
    i = math.random(#tokens)
  end
  function request()
    i = i % #tokens + 1
    wrk.headers["Authorization"] = "Bearer " .. tokens[i]
    return wrk.format()
  end
end
LUA

# Every server answers correctly before being measured.
check() { # port body-file token expect
  local auth=()
  [ -n "$3" ] && auth=(-H "Authorization: Bearer $3")
  local out
  out=$(curl -s "http://127.0.0.1:$1/mcp" "${auth[@]}" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'Mcp-Protocol-Version: 2025-06-18' \
    --data-binary "@$2")
  grep -q -- "$4" <<<"$out" || { echo "port $1 answered: ${out:0:300}" >&2; exit 1; }
}
token_of() { head -n1 "$work/tokens.$1" 2>/dev/null || true; }
for port in "${!pid[@]}"; do
  [ "$port" = 38104 ] && continue
  check "$port" "$work/call" "$(token_of "$port")" '"text":"hello"'
done
check 38104 "$work/call" x '"text":"hello"'
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:38102/mcp" -X POST \
  -H 'Content-Type: application/json' -d '{}')
[ "$code" = 401 ] || { echo "ours answered $code without a token" >&2; exit 1; }
if has tools; then
  check 38111 "$work/list" "$(token_of 38111)" '"tool_0999"'
  check 38113 "$work/list" "" '"tool_0999"'
fi

# --- cases: name|port|body|tokens (a file, "none", or empty for the server's own)
cases=()
add() { cases+=("$1|$2|$3|${4:-}"); }
if has headline; then
  add "rmcp, no auth (baseline)" 38101 call none
  add "hyper, fixed 200 (HTTP limit)" 38104 call x
  add "hyper, fixed 401" 38104 call none
  add "ours: JWT + scope check, direct path" 38102 call
  add "ours: JWT + scope check, rmcp transport" 38103 call
  add "ours: 401 without a token" 38102 call none
  add "rmcp, SSE" 38106 call none
  add "ours: JWT + scope check, SSE" 38105 call
fi
if has tools; then
  for n in 1 100 1000; do
    o=$((n == 1 ? 38102 : n == 100 ? 38110 : 38111))
    r=$((n == 1 ? 38101 : n == 100 ? 38112 : 38113))
    add "tools/list, $n tools: rmcp" $r list none
    add "tools/list, $n tools: ours" $o list
    add "tools/call, $n tools: rmcp" $r call none
    add "tools/call, $n tools: ours" $o call
  done
fi
size_label() { case $1 in 100) echo "100 B" ;; 10k) echo "10 KB" ;; 1m) echo "1 MB" ;; esac; }
if has args; then
  for size in 100 10k 1m; do
    add "argument of $(size_label $size): rmcp" 38131 "call.$size" none
    add "argument of $(size_label $size): ours" 38130 "call.$size"
  done
fi
if has tokens; then
  add "1 token" 38120 call "$work/tokens.38120"
  add "1,000 tokens" 38121 call "$work/tokens.38121"
  add "100,000 tokens" 38122 call "$work/tokens.38122"
fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A rps cpu
for _ in $(seq "$rounds"); do
  for c in "${cases[@]}"; do
    IFS='|' read -r name port body tokens <<<"$c"
    case $tokens in
      none) tfile= ;;
      x) tfile="$work/x.token"; echo x >"$tfile" ;;
      "") tfile="$work/first.$port"; token_of "$port" >"$tfile" ;;
      *) tfile=$tokens ;;
    esac
    before=$(cpu_ticks "${pid[$port]}")
    out=$(BODY_FILE="$work/$body" TOKENS_FILE="$tfile" wrk -t2 -c"$conns" -d"${duration}s" \
      -s "$work/bench.lua" "http://127.0.0.1:$port/mcp")
    after=$(cpu_ticks "${pid[$port]}")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    rps[$name]="${rps[$name]:-} $(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    # µs of server CPU per request (clock ticks of 10 ms).
    cpu[$name]="${cpu[$name]:-} $(awk -v t=$((after - before)) -v n="$n" 'BEGIN {printf "%.2f", n ? t * 10000 / n : 0}')"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A r u
for c in "${cases[@]}"; do
  IFS='|' read -r name _ _ _ <<<"$c"
  r[$name]=$(median <<<"${rps[$name]}")
  u[$name]=$(median <<<"${cpu[$name]}")
done
rss() { awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/${pid[$1]}/status"; }
row() { # name baseline-name label
  awk -v n="$1" -v v="${r[$1]}" -v c="${u[$1]}" -v b="${r[$2]:-0}" -v bc="${u[$2]:-0}" \
    'BEGIN { printf "%-44s %10.0f %9.1f", n, v, c;
             if (b > 0) printf " %8.2fx %8.2fx", v / b, c / bc; print "" }'
}
header() { printf '%-44s %10s %9s %9s %9s\n' "$1" "req/s" "CPU µs" "÷ $2" "CPU ÷"; }

echo "wrk: ${rounds} interleaved rounds of ${duration}s, ${conns} connections, 2 threads; medians"
echo "(CPU µs: the server's CPU time per request; ÷: the ratio to the baseline named)"
if has headline; then
  echo; echo "== tools/call echo"
  header "server" "rmcp"
  for n in "rmcp, no auth (baseline)" "hyper, fixed 200 (HTTP limit)" \
    "ours: JWT + scope check, direct path" "ours: JWT + scope check, rmcp transport"; do
    row "$n" "rmcp, no auth (baseline)"
  done
  header "server" "hyper"
  for n in "ours: JWT + scope check, direct path" "hyper, fixed 401" "ours: 401 without a token"; do
    case $n in *401*) row "$n" "hyper, fixed 401" ;; *) row "$n" "hyper, fixed 200 (HTTP limit)" ;; esac
  done
  header "SSE" "JSON"
  row "rmcp, SSE" "rmcp, no auth (baseline)"
  row "ours: JWT + scope check, SSE" "ours: JWT + scope check, direct path"
  header "SSE" "rmcp SSE"
  row "ours: JWT + scope check, SSE" "rmcp, SSE"
  echo "peak RSS: rmcp $(rss 38101), ours $(rss 38102), ours without the direct path $(rss 38103), ours SSE $(rss 38105)"
fi
if has tools; then
  echo; echo "== registered tools"
  header "case" "rmcp"
  for n in 1 100 1000; do
    for op in list call; do
      row "tools/$op, $n tools: rmcp" "tools/$op, $n tools: rmcp"
      row "tools/$op, $n tools: ours" "tools/$op, $n tools: rmcp"
    done
  done
  echo "peak RSS with 1,000 tools: rmcp $(rss 38113), ours $(rss 38111)"
fi
if has args; then
  echo; echo "== argument size (echoed back)"
  header "case" "rmcp"
  for size in 100 10k 1m; do
    l=$(size_label $size)
    row "argument of $l: rmcp" "argument of $l: rmcp"
    row "argument of $l: ours" "argument of $l: rmcp"
  done
  echo "peak RSS after the 1 MB case: rmcp $(rss 38131), ours $(rss 38130)"
fi
if has tokens; then
  echo; echo "== distinct tokens (the cache holds at most 10,000 tokens and 32 MiB by default)"
  header "tokens in use" "1 token"
  for n in "1 token" "1,000 tokens" "100,000 tokens"; do row "$n" "1 token"; done
  for port in 38120 38121 38122; do
    curl -s "http://127.0.0.1:$port/bench/stats" | python3 -c "
import json, sys
s = json.load(sys.stdin)
seen = s['cache_hits'] + s['cache_misses']
print(f'  {sys.argv[1]:>7} tokens: cache hits {100 * s[\"cache_hits\"] / max(seen, 1):5.1f}%, '
      f'signature checks {s[\"signature_checks\"]}, cached {s[\"cached_tokens\"]} tokens in '
      f'{s[\"cached_bytes\"] / 1048576:.1f} MiB, peak RSS ' + sys.argv[2])
" "$(want_tokens $port)" "$(rss $port)"
  done
fi

has headline || exit 0
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || {
  echo "(valgrind not found: no instruction counts)"
  exit 0
}
# Instructions per request: each server under callgrind, counting only while
# wrk loads it (start-up excluded), divided by the requests wrk completed.
cg() { # name port body auth env command...
  local name=$1 port=$2 body=$3 auth=$4 env=$5
  local out="$work/cg.$port"
  # shellcheck disable=SC2086
  env $env valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    "${@:6}" >"$work/out.$port" 2>"$work/vg.$port" &
  local p=$!
  for _ in $(seq 150); do
    curl -s -o /dev/null "http://127.0.0.1:$port/mcp" -X POST -d '{}' && break
    sleep 0.2
  done
  local tfile=
  if [ "$auth" = 1 ]; then
    tfile="$work/cgtoken.$port"
    head -n1 "$work/out.$port" >"$tfile"
    [ -s "$tfile" ] || echo x >"$tfile"
  fi
  callgrind_control -i on "$p" >/dev/null 2>&1
  local n
  n=$(BODY_FILE="$work/$body" TOKENS_FILE="$tfile" wrk -t1 -c4 -d5s -s "$work/bench.lua" \
    "http://127.0.0.1:$port/mcp" | awk '/requests in/ {print $1}')
  callgrind_control -i off "$p" >/dev/null 2>&1
  callgrind_control -d "$p" >/dev/null 2>&1
  kill "$p"; wait "$p" 2>/dev/null || true
  local ir
  ir=$(cat "$out"* 2>/dev/null | awk '/^summary:|^totals:/ {s += $2} END {print s + 0}')
  awk -v n="$name" -v ir="$ir" -v r="$n" \
    'BEGIN { printf "%-44s %12.0f instructions/request (%d requests)\n", n, ir / r, r }'
}
echo; echo "== callgrind, 4 connections, 5 s each"
cg "rmcp, no auth (baseline)" 38201 call 0 "" "$target/bench-rmcp" 38201
cg "hyper, fixed 200" 38204 call 1 "" "$target/bench-hyper" 38204
cg "ours: JWT + scope check, direct path" 38202 call 1 "" "$target/bench-ours" 38202 "$work/key.pem"
cg "ours: JWT + scope check, rmcp transport" 38203 call 1 "DIRECT=0" "$target/bench-ours" 38203 "$work/key.pem"
cg "ours: JWT + scope check, SSE" 38207 call 1 "SSE=1" "$target/bench-ours" 38207 "$work/key.pem"
cg "hyper, fixed 401" 38206 call 0 "" "$target/bench-hyper" 38206
cg "ours: 401 without a token" 38205 call 0 "" "$target/bench-ours" 38205 "$work/key.pem"
