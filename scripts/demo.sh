#!/usr/bin/env bash
# The demo `make demo` runs: create a repository with generated data, apply
# it, materialize it, build training data, serve it and query it, all on the
# embedded defaults (file registry, DuckDB, SQLite). Usage: demo.sh FEAST DIR
set -euo pipefail
FEAST=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DIR=$2

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The server must be ours: a port someone else holds would answer the
# queries below with their data. FEAST_DEMO_PORT is taken as given (and
# refused when busy); otherwise the first free port from 6566 is used.
if [ -n "${FEAST_DEMO_PORT:-}" ]; then
  PORT=$FEAST_DEMO_PORT
  port_in_use "$PORT" && fail "port $PORT (FEAST_DEMO_PORT) is already in use: stop what listens there or pick another port"
else
  PORT=6566
  while port_in_use "$PORT"; do
    PORT=$((PORT + 1))
    [ "$PORT" -le 6666 ] || fail "no free port in 6566-6666: set FEAST_DEMO_PORT to a free port"
  done
fi

rm -rf "$DIR"
step "feast init $DIR"
"$FEAST" init "$DIR"
cd "$DIR"

step "feast plan"
"$FEAST" plan
step "feast apply"
"$FEAST" apply
step "feast feature-views list"
"$FEAST" feature-views list

step "feast materialize-incremental now"
"$FEAST" materialize-incremental now

step "feast get-historical-features (point-in-time join of data/driver_entities.csv)"
"$FEAST" get-historical-features --entities data/driver_entities.csv \
  --feature-service driver_activity_v1 --output training.csv
head -n 6 training.csv

step "feast serve (HTTP on 127.0.0.1:$PORT)"
"$FEAST" serve --port "$PORT" > serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
ready=
for _ in $(seq 1 150); do
  kill -0 "$SERVER" 2>/dev/null || { cat serve.log >&2; fail "feast serve exited (its log is above)"; }
  if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null; then ready=1; break; fi
  sleep 0.2
done
[ -n "$ready" ] || { cat serve.log >&2; fail "feast serve did not answer /health on port $PORT within 30 s (its log is above)"; }

step "POST /get-online-features"
curl -sS --fail-with-body "http://127.0.0.1:$PORT/get-online-features" -H 'Content-Type: application/json' -d '{
  "features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate", "transformed_conv_rate:conv_rate_plus_val1"],
  "entities": {"driver_id": [1001, 1002, 9999], "val_to_add": [1, 2, 3], "val_to_add_2": [10, 20, 30]}
}'
echo

step "POST /get-online-features with a feature service"
curl -sS --fail-with-body "http://127.0.0.1:$PORT/get-online-features" -H 'Content-Type: application/json' -d '{
  "feature_service": "driver_activity_v2", "entities": {"driver_id": [1003]}, "full_feature_names": true
}'
echo
step "POST /push (online and offline), then read driver 1001 again"
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
curl -sS --fail-with-body "http://127.0.0.1:$PORT/push" -H 'Content-Type: application/json' -d '{
  "push_source_name": "driver_stats_push_source", "to": "online_and_offline",
  "df": {"driver_id": [1001], "event_timestamp": ["'"$NOW"'"], "created": ["'"$NOW"'"],
         "conv_rate": [0.99], "acc_rate": [0.98], "avg_daily_trips": [777]}
}'
echo
curl -sS --fail-with-body "http://127.0.0.1:$PORT/get-online-features" -H 'Content-Type: application/json' -d '{
  "features": ["driver_hourly_stats:avg_daily_trips"], "entities": {"driver_id": [1001]}
}'
echo
ls data/driver_stats/
step "done: the repository is in $DIR"
