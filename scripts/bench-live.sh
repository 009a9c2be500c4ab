#!/usr/bin/env bash
# The big file (60,000 sessions, 2.8 million traces, 3.6 GB): listing it cold and through the
# list cache, beside sqlite3's GROUP BY; and the app's CPU while another process appends to it.
#
#   scripts/bench-live.sh       # called by scripts/bench.sh; runs on its own too
#
# Environment: BENCH_DIR, BIN, SKIP_BUILD as in bench.sh; RUNS (default 5) timed runs per
# listing case; SECONDS_LIVE (default 20) and RATE (default 200 traces/s) for the live case;
# CASES (default "list live") to run only some of them.
#
# The live case runs the app itself (under Xvfb when there is no display) on the big file,
# waits until it has listed it, then starts a Python writer that appends RATE traces a second
# for SECONDS_LIVE seconds, one connection per call as the reference TraceStore does, and
# reads the app's CPU time (utime + stime of /proc/PID/stat) over the writer's run. The same
# writer runs once with no reader for its own rate. The writer appends to the bench file.
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-target/bench-data}
BIN=${BIN:-target/dist/trace-inspector}
RUNS=${RUNS:-5}
SECONDS_LIVE=${SECONDS_LIVE:-20}
RATE=${RATE:-200}
CASES=${CASES:-list live}

if [[ "${SKIP_BUILD:-}" != 1 && ! -x "$BIN" ]]; then
    nice -n 5 cargo build --profile dist --quiet --bin trace-inspector
fi
mkdir -p "$BENCH_DIR"
BIG10="$BENCH_DIR/big10.db"
if [[ ! -s "$BIG10" ]]; then
    nice -n 5 "$BIN" demo "$BIG10" --sessions 60000 --seed 42 --force >&2
fi
TMP=$(mktemp -d)
APP_PID=
pid=
# The app and, under xvfb-run, its wrapper: see scripts/stop-app.sh.
source scripts/stop-app.sh
cleanup() { stop_app; rm -rf "$TMP"; }
trap cleanup EXIT
export TRACE_INSPECTOR_CACHE_DIR="$TMP/cache"

Q_LIST="SELECT s.id, s.task, s.status, s.started_at, s.completed_at, COUNT(t.id), SUM(COALESCE(t.input_tokens,0)+COALESCE(t.output_tokens,0)), SUM(t.cost_usd) FROM agent_trace_sessions s LEFT JOIN agent_traces t ON t.session_id = s.id GROUP BY s.id ORDER BY s.started_at DESC"

# median_ms CMD: the median wall time of RUNS runs (after one untimed), in ms.
median_ms() {
    local cmd=$1 i t0 t1
    bash -c "$cmd" >/dev/null 2>&1
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N)
        bash -c "$cmd" >/dev/null 2>&1
        t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000 ))
    done | sort -n | awk '{a[NR]=$1} END {printf "%.1f\n", ((NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2) / 1000}'
}

if [[ " $CASES " == *" list "* ]]; then
printf '\n%-52s %10s\n' "case (big10.db: 60,000 sessions)" "median ms"
cold=$(median_ms "$BIN sessions $BIG10 --json --no-cache")
printf '%-52s %10s\n' "sessions --json --no-cache (cold: no cache)" "$cold"
ref=$(median_ms "sqlite3 $BIG10 \"$Q_LIST\"")
printf '%-52s %10s\n' "sqlite3 GROUP BY" "$ref"
rm -rf "$TMP/cache"
t0=$(date +%s%N); "$BIN" sessions "$BIG10" --json >/dev/null; t1=$(date +%s%N)
printf '%-52s %10.1f\n' "sessions --json, first run (reads all, writes cache)" "$(( (t1 - t0) / 1000 ))e-3"
warm=$(median_ms "$BIN sessions $BIG10 --json")
printf '%-52s %10s\n' "sessions --json (warm: cache hit)" "$warm"
warm1=$(median_ms "$BIN sessions $BIG10 --json --limit 1")
printf '%-52s %10s\n' "sessions --json --limit 1 (warm: the cache's cost)" "$warm1"
# The app's open path (Jobs::open: Store::live_from_cache, the list first, then the slow-call
# tally and the models) is what `models` reads through the cache.
warm_app=$(median_ms "$BIN models $BIG10 --json")
printf '%-52s %10s\n' "models --json (warm: the app's whole open path)" "$warm_app"
printf 'cache entry: %s MB\n' "$(du -m "$TMP"/cache/*.tilist | cut -f1)"
fi

# ---- live tail ---------------------------------------------------------------------------
cat >"$TMP/writer.py" <<'EOF'
import sqlite3, sys, time, uuid, json, datetime
path, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def call(sql, params):
    conn = sqlite3.connect(path, timeout=5.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(sql, params)
    conn.commit()
    conn.close()
def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()
session = None
n = 0
start = time.monotonic()
while time.monotonic() - start < seconds:
    if n % 50 == 0:
        if session:
            call("UPDATE agent_trace_sessions SET status = 'completed', completed_at = ? WHERE id = ?", (now(), session))
        session = str(uuid.uuid4())
        call("INSERT INTO agent_trace_sessions (id, task, started_at, status) VALUES (?, 'bench run', ?, 'running')", (session, now()))
    tool = n % 2 == 0
    call("INSERT INTO agent_traces (id, session_id, type, timestamp, duration_ms, data, input_tokens, output_tokens, "
         "model_used, provider_used, cost_usd, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
         (str(uuid.uuid4()), session, "tool_result" if tool else "message", now(), 120.0 + n % 50,
          json.dumps({"tool": "read_file"} if tool else {}), None if tool else 100, None if tool else 20,
          None if tool else "gpt-bench", None if tool else "openai", None if tool else 0.001, now()))
    n += 1
    behind = n / rate - (time.monotonic() - start)
    if behind > 0:
        time.sleep(behind)
elapsed = time.monotonic() - start
print("%d %.2f" % (n, n / elapsed))
EOF

alone=$(python3 "$TMP/writer.py" "$BIG10" 100000 5 | awk '{print $2}')
printf '\nwriter alone, as fast as it goes for 5 s: %s traces/s\n' "$alone"
paced=$(python3 "$TMP/writer.py" "$BIG10" "$RATE" "$SECONDS_LIVE" | awk '{print $2}')
printf 'writer alone, paced at %s/s for %s s: %s traces/s\n' "$RATE" "$SECONDS_LIVE" "$paced"

run_app=("$BIN" "$BIG10")
if [[ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
    command -v xvfb-run >/dev/null || { echo "no display and no xvfb-run: live case skipped" >&2; exit 0; }
    run_app=(xvfb-run -a -s "-screen 0 1600x1000x24" "$BIN" "$BIG10")
fi
# The app lists from the cache (warmed here when the listing cases did not run).
"$BIN" sessions "$BIG10" --json --limit 1 >/dev/null
RUST_LOG=${RUST_LOG:-info} "${run_app[@]}" >"$TMP/app.log" 2>&1 &
APP_PID=$!
sleep 3
pid=$(pgrep -n -f "^$BIN $BIG10" || true)
[[ -n "$pid" ]] || { echo "the app did not start:" >&2; cat "$TMP/app.log" >&2; exit 1; }
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
# Idle first (nothing changes), then with the writer.
sleep 12
c0=$(cpu); t0=$(date +%s%N); sleep 10; c1=$(cpu); t1=$(date +%s%N)
idle=$(python3 -c "print('%.1f' % (100.0 * ($c1 - $c0) / $hz / (($t1 - $t0) / 1e9)))")
c0=$(cpu); t0=$(date +%s%N)
# Where the app's CPU goes, by thread (ti-refresh: the refresh jobs; llvmpipe-*: software
# rendering under Xvfb; the app's own name: the UI thread), sampled while the writer runs.
if command -v perf >/dev/null; then
    perf record -F 499 -p "$pid" -o "$TMP/perf.data" -- sleep "$SECONDS_LIVE" >/dev/null 2>&1 &
    PERF_PID=$!
fi
with=$(python3 "$TMP/writer.py" "$BIG10" "$RATE" "$SECONDS_LIVE" | awk '{print $2}')
c1=$(cpu); t1=$(date +%s%N)
busy=$(python3 -c "print('%.1f' % (100.0 * ($c1 - $c0) / $hz / (($t1 - $t0) / 1e9)))")
printf 'app CPU, idle (10 s, file unchanged): %s%% of one core\n' "$idle"
printf 'app CPU, writer appending at %s/s for %s s: %s%% of one core; writer rate beside the app: %s traces/s\n' \
    "$RATE" "$SECONDS_LIVE" "$busy" "$with"
if [[ -n "${PERF_PID:-}" ]]; then
    wait "$PERF_PID" 2>/dev/null || true
    # 499 samples a second of CPU: samples / 499 / seconds = share of one core.
    perf report -i "$TMP/perf.data" --stdio --sort comm -n 2>/dev/null | awk -v s="$SECONDS_LIVE" \
        '/^ +[0-9.]+%/ {printf "  thread %-14s %5.1f%% of one core\n", $3, 100 * $2 / 499 / s}'
fi
grep -c "read in full again" "$TMP/app.log" | xargs printf 'full re-reads during the run: %s\n' || true
stop_app
# The app was stopped holding a connection, so the writer's last close could not fold the
# -wal back in: one more open and close does, and later cases do not pay for reading it.
[[ -e "$BIG10-wal" ]] && sqlite3 "$BIG10" "PRAGMA user_version" >/dev/null
printf 'machine: %s cores, %s\n' "$(nproc)" "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
