#!/usr/bin/env bash
# Starts the app on a freshly generated demo database in a virtual X display, checks that it
# stays up, screenshots the window and checks the picture is not blank. Prints what it saw.
set -euo pipefail
bin=${1:-target/release/trace-inspector}
out=${SMOKE_DIR:-target/smoke}
mkdir -p "$out"
display=:${SMOKE_DISPLAY:-97}
Xvfb "$display" -screen 0 1600x1000x24 >"$out/xvfb.log" 2>&1 &
xvfb=$!
app=""
cleanup() {
  [ -n "$app" ] && kill "$app" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
}
trap cleanup EXIT
sleep 2
export DISPLAY=$display
export XDG_DATA_HOME="$out/xdg"   # keep saved state out of the user's home
"$bin" --demo >"$out/app.log" 2>&1 &
app=$!
wid=""
for _ in $(seq 1 60); do
  sleep 1
  kill -0 "$app" 2>/dev/null || { echo "smoke: the app exited early:"; cat "$out/app.log"; exit 1; }
  wid=$(xdotool search --pid "$app" 2>/dev/null | tail -n 1 || true)
  [ -n "$wid" ] && break
done
[ -n "$wid" ] || { echo "smoke: no window appeared"; exit 1; }
# Let the demo generate and the session list load.
sleep 8
kill -0 "$app" 2>/dev/null || { echo "smoke: the app died:"; cat "$out/app.log"; exit 1; }
import -window "$wid" "$out/sessions.png"
colors=$(convert "$out/sessions.png" -format '%k' info:)
sd=$(convert "$out/sessions.png" -colorspace gray -format '%[fx:standard_deviation]' info:)
echo "smoke: window $wid, $colors colours, grey std-dev $sd, screenshot $out/sessions.png"
awk -v c="$colors" -v s="$sd" 'BEGIN { exit !(c > 50 && s > 0.02) }' || { echo "smoke: the screenshot looks blank"; exit 1; }
# Open the newest session with the keyboard and take a second picture.
xdotool windowfocus --sync "$wid" || true
xdotool key --window "$wid" Down Return || true
sleep 3
kill -0 "$app" 2>/dev/null || { echo "smoke: the app died opening a session:"; cat "$out/app.log"; exit 1; }
import -window "$wid" "$out/session.png"
echo "smoke: ok (app still running after opening a session; $out/session.png)"
echo "1 passed, 0 failed"
