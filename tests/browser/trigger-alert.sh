#!/bin/sh
# Makes a new alert appear: copies the firing event of an existing story (default: the dev
# server's seeded `story-fleet`) in ClickHouse under a new story id, fired now. The API's alert
# stream polls ClickHouse and pushes it to every open dashboard.
#   tests/browser/trigger-alert.sh DATABASE [SOURCE_STORY_ID] [CLICKHOUSE_URL]
set -eu
database=${1:?usage: trigger-alert.sh DATABASE [SOURCE_STORY_ID] [CLICKHOUSE_URL]}
source_story=${2:-story-fleet}
clickhouse=${3:-http://127.0.0.1:8123}
new_story="browser-$(date +%s)-$$"
micros=$(date +%s%6N)
query="INSERT INTO ${database}.alert_events
SELECT '${new_story}', state, now(), posts, watch, severity, first_post_at,
       concat(title, ' (replayed)'), terms, negative_share, score, baseline, threshold,
       post_ids, first_post_id, ${micros}
FROM ${database}.alert_events
WHERE story_id = '${source_story}' AND state = 'firing'
LIMIT 1"
curl -sS --fail-with-body "${clickhouse}/" --data-binary "${query}"
count=$(curl -sS --fail-with-body "${clickhouse}/" --data-binary \
  "SELECT count() FROM ${database}.alert_events WHERE story_id = '${new_story}'")
if [ "${count}" -lt 1 ]; then
  echo "trigger-alert: no firing event of ${source_story} in ${database}" >&2
  exit 1
fi
echo "trigger-alert: inserted ${new_story}"
