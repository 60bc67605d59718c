#!/usr/bin/env bash
# Wire parity with FastMCP: the same requests to FastMCP 4.2.3 + ScalekitProvider
# (fastmcp_server.py) and to our demo-server (default settings, and a second
# instance in step-up mode), all pointed at the test authorization server in
# Scalekit shape (tests/e2e/as, AS_MODE=scalekit), all on 127.0.0.1.
#
#   tests/e2e/parity/run.sh                   # from anywhere
#   tests/e2e/parity/run.sh --update-report   # also rewrite REPORT.md (when every case passed)
#
# The committed REPORT.md must equal the report this run generates: a stale one
# is a failure (counted, with the diff), fixed by running with --update-report.
#
# Installs what it needs: a venv in tests/e2e/parity/.venv (pip install -r
# requirements.txt, Python 3.11+), the AS's npm packages (npm ci), and builds
# demo-server with cargo (CARGO_TARGET_DIR is honoured). Ends with one line
# `parity: N passed, M failed` (one per case, plus one for REPORT.md) and exits
# non-zero on a failure.
# Observed responses go to tests/e2e/parity/results/ (observed.json,
# REPORT.md, server logs).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
AS_DIR="$ROOT/tests/e2e/as"
RESULTS="$HERE/results"
UPDATE_REPORT=()
[ "${1:-}" = "--update-report" ] && UPDATE_REPORT=(--update-report)

say() { printf '[parity] %s\n' "$*" >&2; }
die() {
  say "error: $*"
  echo "parity: 0 passed, 1 failed"
  exit 1
}

command -v cargo >/dev/null || die "cargo is required"
command -v node >/dev/null && command -v npm >/dev/null || die "Node.js 20+ with npm is required (test authorization server)"
PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
  die "Python 3.11+ is required for fastmcp 4.2.3 (set PYTHON=...)"

# --- FastMCP, in its own venv (reinstalled when requirements.txt changes)
VENV="$HERE/.venv"
if [ ! -f "$VENV/.req-stamp" ] || ! cmp -s "$HERE/requirements.txt" "$VENV/.req-stamp"; then
  say "creating $VENV (pip install -r requirements.txt)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" || die "python -m venv failed (Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" >&2 ||
    die "pip install failed"
  cp "$HERE/requirements.txt" "$VENV/.req-stamp"
fi
FASTMCP_VERSION="$("$VENV/bin/python" -c 'import fastmcp; print(fastmcp.__version__)')"

# --- the test authorization server's packages (npm writes .package-lock.json last)
if [ ! -f "$AS_DIR/node_modules/.package-lock.json" ]; then
  lock="${TMPDIR:-/tmp}/parity-as-npm-ci.lock"
  for _ in $(seq 600); do mkdir "$lock" 2>/dev/null && break; sleep 0.5; done
  if [ ! -f "$AS_DIR/node_modules/.package-lock.json" ]; then
    say "npm ci --prefix tests/e2e/as"
    npm ci --no-audit --no-fund --loglevel=error --prefix "$AS_DIR" >&2 || { rmdir "$lock"; die "npm ci failed"; }
  fi
  rmdir "$lock" 2>/dev/null || true
fi

# --- our demo-server
say "cargo build -p demo-server"
(cd "$ROOT" && cargo build --quiet -p demo-server >&2) || die "demo-server did not build"
TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
DEMO="$TARGET_DIR/debug/demo-server"
[ -x "$DEMO" ] || die "no binary at $DEMO"

rm -rf "$RESULTS"
mkdir -p "$RESULTS"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap cleanup EXIT

# --- the authorization server (a free port; it prints one JSON line when ready)
AS_MODE=scalekit AS_PORT=0 node "$AS_DIR/server.mjs" >"$RESULTS/as.out" 2>"$RESULTS/as.log" &
PIDS+=($!)
AS_URL=""
for _ in $(seq 200); do
  if [ -s "$RESULTS/as.out" ]; then
    AS_URL="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8").split("\n")[0]).issuer)' "$RESULTS/as.out")"
    break
  fi
  kill -0 "${PIDS[0]}" 2>/dev/null || die "the authorization server exited: $(tail -5 "$RESULTS/as.log")"
  sleep 0.1
done
[ -n "$AS_URL" ] || die "the authorization server did not report ready within 20 s"
RESOURCE_ID="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8").split("\n")[0]).resource_id)' "$RESULTS/as.out")"
say "authorization server at $AS_URL (resource $RESOURCE_ID)"

# --- three free loopback ports: FastMCP, ours, ours in step-up mode
read -r P_FAST P_OURS P_STEP < <("$PY" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
EOF
)
common=(SCALEKIT_ENVIRONMENT_URL="$AS_URL" SCALEKIT_CLIENT_ID=skc_parity SCALEKIT_RESOURCE_ID="$RESOURCE_ID" HOST=127.0.0.1)

env "${common[@]}" MCP_URL="http://127.0.0.1:$P_FAST/" PORT="$P_FAST" \
  "$VENV/bin/python" "$HERE/fastmcp_server.py" >"$RESULTS/fastmcp.log" 2>&1 &
PIDS+=($!)
env "${common[@]}" MCP_URL="http://127.0.0.1:$P_OURS/" PORT="$P_OURS" DEMO_DB="$RESULTS/ours.sqlite3" \
  RUST_LOG=warn "$DEMO" >"$RESULTS/ours.log" 2>&1 &
PIDS+=($!)
env "${common[@]}" MCP_URL="http://127.0.0.1:$P_STEP/" PORT="$P_STEP" DEMO_DB="$RESULTS/ours-step-up.sqlite3" \
  MCP_STEP_UP=true RUST_LOG=warn "$DEMO" >"$RESULTS/ours-step-up.log" 2>&1 &
PIDS+=($!)
say "FastMCP $FASTMCP_VERSION on $P_FAST, ours on $P_OURS, ours (step-up) on $P_STEP"

set +e
"$VENV/bin/python" "$HERE/check.py" \
  --as "$AS_URL" \
  --fastmcp "http://127.0.0.1:$P_FAST" \
  --ours "http://127.0.0.1:$P_OURS" \
  --ours-step-up "http://127.0.0.1:$P_STEP" \
  --fastmcp-version "$FASTMCP_VERSION" \
  --out "$RESULTS/observed.json" \
  --report "$RESULTS/REPORT.md" \
  --committed-report "$HERE/REPORT.md" "${UPDATE_REPORT[@]}" >"$RESULTS/check.out" 2>"$RESULTS/check.err"
rc=$?
set -e
cleanup
if ! grep -q '^parity: ' "$RESULTS/check.out"; then
  cat "$RESULTS/check.out" "$RESULTS/check.err" >&2
  for f in fastmcp ours ours-step-up; do say "$f.log:"; tail -5 "$RESULTS/$f.log" >&2; done
  die "check.py did not finish"
fi
say "observed responses: $RESULTS/observed.json; report: $RESULTS/REPORT.md"
cat "$RESULTS/check.out"
exit "$rc"
