#!/bin/sh
# Regenerates docs/screenshots/: starts `tidewatch demo` (embedded pipeline, its own database),
# waits until its story has fired, then photographs every view at desktop and phone sizes.
#   tests/browser/screenshots.sh [LISTEN]        (default 127.0.0.1:19800)
# Needs chromium and `npm ci --prefix tests/browser`; uses target/debug/tidewatch.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
listen=${1:-127.0.0.1:19800}
database="tw_screenshots_$$"
log=$(mktemp)
"$repo/target/debug/tidewatch" demo --listen "$listen" --database "$database" \
    --story-delay-seconds 20 >"$log" 2>&1 &
demo=$!
trap 'kill "$demo" 2>/dev/null || true; wait "$demo" 2>/dev/null || true; rm -f "$log";
      curl -sS "http://127.0.0.1:8123/" --data-binary "DROP DATABASE IF EXISTS $database" >/dev/null || true' EXIT
admin=""
for _ in $(seq 1 120); do
    admin=$(sed -n 's/^ *admin *token: //p' "$log" | head -n1)
    [ -n "$admin" ] && break
    sleep 1
done
[ -n "$admin" ] || { echo "the demo printed no admin token:"; cat "$log"; exit 1; }
base="http://$listen"
echo "waiting for the demo's story to fire…"
for _ in $(seq 1 240); do
    if curl -sS -H "Authorization: Bearer $admin" "$base/api/v1/alerts?limit=1" | grep -q story_id; then
        break
    fi
    sleep 1
done
# A minute more, so the story's chart has a few buckets.
sleep 60
TIDEWATCH_URL="$base" TIDEWATCH_ADMIN_TOKEN="$admin" node "$here/screenshots.mjs"
