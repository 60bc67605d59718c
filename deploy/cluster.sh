#!/usr/bin/env bash
# A local cluster on loopback: PostgreSQL, N demo-server replicas sharing it,
# and nginx in front of them.
#
#   deploy/cluster.sh start [N]   # N replicas (default 3); prints the MCP URL and a token
#   deploy/cluster.sh stop        # stops everything start started, by PID
#   deploy/cluster.sh status
#
# Environment: CLUSTER_DIR (state, logs, PIDs; default /tmp/mcp-cluster),
# CLUSTER_PORT (nginx; default 8080; replicas take the next N ports),
# PG_PORT (default 5433), DEMO_SERVER_BIN (default: cargo build -p demo-server),
# PG_BIN (directory of initdb/postgres/pg_ctl; default PATH or
# /usr/lib/postgresql/*/bin). Needs PostgreSQL and nginx
# (Debian: apt-get install postgresql nginx). As root, PostgreSQL runs as the
# `postgres` user.
#
# The replicas use the development issuer with one shared signing key, so a
# token minted by `demo-server token` for the public URL works on all of them.
set -euo pipefail

DIR=${CLUSTER_DIR:-/tmp/mcp-cluster}
PORT=${CLUSTER_PORT:-8080}
PG_PORT=${PG_PORT:-5433}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PUBLIC_URL="http://127.0.0.1:${PORT}/"

die() { echo "cluster: $*" >&2; exit 1; }

pg_bin() {
  local d
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(command -v initdb)"; return
  fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && { echo "$d"; return; }
  die "PostgreSQL not found: install it (Debian: apt-get install postgresql) or set PG_BIN"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

nginx_bin() {
  command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } ||
    die "nginx not found: install it (Debian: apt-get install nginx)"
}

demo_bin() {
  if [ -n "${DEMO_SERVER_BIN:-}" ]; then echo "$DEMO_SERVER_BIN"; return; fi
  (cd "$ROOT" && cargo build -q -p demo-server) >&2
  echo "${CARGO_TARGET_DIR:-$ROOT/target}/debug/demo-server"
}

wait_http() { # url seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_replica() { # index port
  local bin=$1 i=$2 port=$3
  env HOST=127.0.0.1 PORT="$port" MCP_URL="$PUBLIC_URL" \
    DATABASE_URL="postgres://postgres@127.0.0.1:${PG_PORT}/postgres" \
    MCP_DEV_KEY_FILE="$DIR/dev-key.pem" NO_COLOR=1 \
    "$bin" >"$DIR/replica-$i.log" 2>&1 </dev/null &
  echo $! >"$DIR/replica-$i.pid"
  # A replica takes traffic once /health answers.
  wait_http "http://127.0.0.1:${port}/health" 60 ||
    die "replica $i did not answer /health; see $DIR/replica-$i.log"
}

start() {
  local n=${1:-3} bin pg nginx servers="" i
  [ -e "$DIR/nginx.pid" ] && die "a cluster runs in $DIR already (deploy/cluster.sh stop)"
  pg=$(pg_bin); nginx=$(nginx_bin); bin=$(demo_bin)
  # PostgreSQL's own directory (data, socket, log), owned by its user.
  local pgdir="$DIR/postgres"
  mkdir -p "$pgdir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$pgdir"; fi
  if [ ! -e "$pgdir/data/PG_VERSION" ]; then
    as_pg "$pg/initdb" -D "$pgdir/data" --username=postgres --auth=trust --encoding=UTF8 \
      --no-locale >"$DIR/initdb.log" 2>&1 || die "initdb failed; see $DIR/initdb.log"
  fi
  as_pg "$pg/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=200" start \
    >/dev/null || die "PostgreSQL did not start; see $pgdir/postgres.log"
  head -n 1 "$pgdir/data/postmaster.pid" >"$DIR/postgres.pid"

  # The shared development key, created once before any replica reads it.
  "$bin" token --mcp-url "$PUBLIC_URL" --dev-key-file "$DIR/dev-key.pem" >/dev/null

  for ((i = 1; i <= n; i++)); do
    start_replica "$bin" "$i" $((PORT + i))
    servers+="server 127.0.0.1:$((PORT + i)) max_fails=1 fail_timeout=2s; "
  done

  mkdir -p "$DIR/nginx"
  sed -e "s|@RUN_DIR@|$DIR/nginx|g" -e "s|@LISTEN@|127.0.0.1:$PORT|" \
    -e "s|@UPSTREAMS@|$servers|" "$ROOT/deploy/nginx.conf.template" >"$DIR/nginx.conf"
  "$nginx" -p "$DIR/nginx" -c "$DIR/nginx.conf" -e "$DIR/nginx/nginx-error.log" \
    >"$DIR/nginx.log" 2>&1 </dev/null &
  echo $! >"$DIR/nginx.pid"
  wait_http "${PUBLIC_URL}health" 20 || die "nginx did not answer; see $DIR/nginx/nginx-error.log"

  echo "cluster: $n replicas behind ${PUBLIC_URL}mcp (state in $DIR)"
  echo "token:   TOKEN=\$($bin token --mcp-url $PUBLIC_URL --dev-key-file $DIR/dev-key.pem --scope 'todo:read todo:write')"
}

stop_pid() { # pidfile signal
  local pid
  [ -e "$1" ] || return 0
  pid=$(cat "$1")
  if kill -0 "$pid" 2>/dev/null; then
    kill "-$2" "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

stop() {
  local f
  stop_pid "$DIR/nginx.pid" QUIT
  for f in "$DIR"/replica-*.pid; do [ -e "$f" ] && stop_pid "$f" TERM; done
  stop_pid "$DIR/postgres.pid" INT  # fast shutdown
  echo "cluster: stopped"
}

status() {
  local f
  for f in "$DIR"/*.pid; do
    [ -e "$f" ] || continue
    if kill -0 "$(cat "$f")" 2>/dev/null; then s=running; else s=gone; fi
    echo "$(basename "$f" .pid): pid $(cat "$f") $s"
  done
}

case "${1:-}" in
  start) start "${2:-3}" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [N] | stop | status" >&2; exit 2 ;;
esac
