#!/usr/bin/env bash
# Arize Phoenix, a real OpenTelemetry backend, for the end-to-end test of `push`
# (tests/phoenix_e2e.rs): a Python venv inside the build folder, a server on 127.0.0.1 with a
# fresh working dir (its SQLite store) and free ports, stopped by its process id.
#
#   bash scripts/phoenix.sh install   create or reuse the venv and pip install arize-phoenix
#   bash scripts/phoenix.sh start     install if needed, start, wait for /healthz, write the state
#   bash scripts/phoenix.sh stop      stop the server started here and remove its working dir
#
# The state is a shell file, `$TARGET/phoenix.env` (PHOENIX_URL, PHOENIX_PID, PHOENIX_WORKDIR):
#   source target/phoenix.env && cargo test --test phoenix_e2e -- --ignored
# `install` can run in the background while cargo builds: `start` waits for it (flock).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
venv=${PHOENIX_VENV:-$target/phoenix-venv}
state=$target/phoenix.env
# The version the test was checked against; PHOENIX_VERSION= (empty) takes the newest.
version=${PHOENIX_VERSION-20.26.1}
spec=arize-phoenix${version:+==$version}

install() {
  mkdir -p "$(dirname "$venv")"
  exec 9>"$venv.lock"
  flock 9
  if [ -f "$venv/.installed" ] && [ "$(cat "$venv/.installed")" = "$spec" ]; then
    echo "phoenix: venv $venv ready ($spec)"
    return
  fi
  local t0=$SECONDS
  rm -rf "$venv"
  # Debian's own python3 keeps venv support in a package of its own.
  if ! python3 -c 'import ensurepip' 2>/dev/null && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 python3-venv >/dev/null
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$spec"
  echo "$spec" >"$venv/.installed"
  echo "phoenix: installed $spec into $venv in $((SECONDS - t0)) s"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  if [ -f "$state" ]; then
    echo "phoenix: already started ($state); run stop first" >&2
    exit 1
  fi
  install
  local port grpc_port workdir pid url t0=$SECONDS
  port=$(free_port)
  grpc_port=$(free_port)
  while [ "$grpc_port" = "$port" ]; do grpc_port=$(free_port); done
  workdir=$(mktemp -d "${TMPDIR:-/tmp}/phoenix.XXXXXX")
  url="http://127.0.0.1:$port"
  PHOENIX_WORKING_DIR=$workdir PHOENIX_HOST=127.0.0.1 PHOENIX_PORT=$port PHOENIX_GRPC_PORT=$grpc_port \
    PHOENIX_TELEMETRY_ENABLED=false nohup "$venv/bin/phoenix" serve >"$workdir/server.log" 2>&1 </dev/null &
  pid=$!
  printf 'PHOENIX_URL=%s\nPHOENIX_PID=%s\nPHOENIX_WORKDIR=%s\nexport PHOENIX_URL\n' "$url" "$pid" "$workdir" >"$state"
  # About 25 s on 2 idle cores; much more while a build runs beside it.
  for _ in $(seq 1 240); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "phoenix: the server exited; its log:" >&2
      tail -n 30 "$workdir/server.log" >&2 || true
      rm -rf "$workdir" "$state"
      exit 1
    fi
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$url/healthz" 2>/dev/null; then
      echo "phoenix: $url ready in $((SECONDS - t0)) s (pid $pid, working dir $workdir)"
      return
    fi
    sleep 1
  done
  echo "phoenix: $url not ready after 240 s; its log:" >&2
  tail -n 30 "$workdir/server.log" >&2 || true
  stop
  exit 1
}

stop() {
  [ -f "$state" ] || { echo "phoenix: not started here"; return; }
  local PHOENIX_PID PHOENIX_WORKDIR
  # shellcheck source=/dev/null
  source "$state"
  if kill -0 "$PHOENIX_PID" 2>/dev/null; then
    kill "$PHOENIX_PID"
    for _ in $(seq 1 50); do kill -0 "$PHOENIX_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$PHOENIX_PID" 2>/dev/null && kill -9 "$PHOENIX_PID"
  fi
  case "$PHOENIX_WORKDIR" in */phoenix.*) rm -rf "$PHOENIX_WORKDIR" ;; esac
  rm -f "$state"
  echo "phoenix: stopped (pid $PHOENIX_PID)"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
