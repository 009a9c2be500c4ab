# Sourced by scripts/bench.sh and scripts/bench-live.sh.
# stop_app: ends the app started in the background. Under xvfb-run, APP_PID is the wrapper and
# the app is $pid: the app goes first and the wrapper is given up to 5 s to end by itself,
# which stops its Xvfb server (killed, the wrapper would leave the server running).
stop_app() {
    [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null || true
    if [[ -n "${APP_PID:-}" ]]; then
        for ((w = 0; w < 50; w++)); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
        kill "$APP_PID" 2>/dev/null || true
        wait "$APP_PID" 2>/dev/null || true
    fi
    APP_PID=
    pid=
}
