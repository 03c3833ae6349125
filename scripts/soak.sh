#!/usr/bin/env bash
# The long reliability runs (issue 14), bounded in rounds and time:
#   scripts/soak.sh [ROUNDS=5] [SECONDS=900]
# Each round: a backfill killed with `kill -9` at a random moment and resumed, compared with an
# uninterrupted run; a fault storm (429 + Retry-After, 5xx, hangs, truncated bodies, extra
# fields, a total changing mid-range) followed by a calm rerun, compared likewise. After the
# rounds: the parser property tests with many cases and the reliability tests (database faults,
# secrets at trace level, hostile config and input). Prints rounds run / identical / faults
# injected / rows lost; exits non-zero when any round differs or loses rows.
set -euo pipefail
ROUNDS=${1:-5}
BUDGET=${2:-900}
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN=target/release/paddock
WORK=$(mktemp -d)
SIMS=()
cleanup() { for p in "${SIMS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
export RACING_API_USERNAME=soak RACING_API_PASSWORD=soak-secret PADDOCK_LOG=warn
unset PADDOCK_DATABASE_URL DATABASE_URL PADDOCK_CONFIG
FROM=${SOAK_FROM:-$(date -u -d '-20 days' +%F)}
TO=${SOAK_TO:-$(date -u -d '-10 days' +%F)}

start_sim() { # port faults
  "$BIN" simulate-api --listen "127.0.0.1:$1" --seed 14 --faults "$2" >/dev/null 2>&1 &
  SIMS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/__stats" >/dev/null && return; sleep 0.1; done
  echo "simulator on $1 did not start" >&2; exit 2
}
backfill() { # port db
  PADDOCK_API_BASE_URL="http://127.0.0.1:$1/v1" PADDOCK_API_RATE_LIMIT=100 \
  PADDOCK_DATABASE_URL="sqlite://$2" "$BIN" backfill --from "$FROM" --to "$TO" \
    --only results,racecards >/dev/null 2>&1
}
# Every ra_* row as text without write timestamps and run ids, sorted.
content() {
  python3 - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'ra_%' ORDER BY name"):
    cols = [c[1] for c in db.execute(f"PRAGMA table_info({t})") if c[1] not in ("created_at","updated_at","last_run_id")]
    for row in sorted(map(repr, db.execute(f"SELECT {','.join(chr(34)+c+chr(34) for c in cols)} FROM {t}"))):
        print(t, row)
PY
}
faults_seen() { # port → non-200 answers the simulator gave
  curl -sf "http://127.0.0.1:$1/__stats" | python3 -c 'import json,sys; s=json.load(sys.stdin)["by_status"]; print(sum(v for k,v in s.items() if k!="200"))'
}

start_sim 18901 none
backfill 18901 "$WORK/reference.db"
content "$WORK/reference.db" >"$WORK/reference.txt"
REF_ROWS=$(wc -l <"$WORK/reference.txt")
start_sim 18902 "rate_limit_every=7,retry_after_secs=1,server_error_rate=0.2,hang_every=11,hang_ms=40000,truncate_every=5,extra_fields,late_result_requests=1"

START=$SECONDS; RUN=0; SAME=0; FAULTS=0; LOST=0
while [ "$RUN" -lt "$ROUNDS" ] && [ $((SECONDS - START)) -lt "$BUDGET" ]; do
  RUN=$((RUN + 1))
  # kill -9 at a random moment, twice, then resume.
  DB="$WORK/crash-$RUN.db"
  for _ in 1 2; do
    PADDOCK_API_BASE_URL="http://127.0.0.1:18901/v1" PADDOCK_API_RATE_LIMIT=20 \
    PADDOCK_DATABASE_URL="sqlite://$DB" "$BIN" backfill --from "$FROM" --to "$TO" \
      --only results,racecards >/dev/null 2>&1 &
    PID=$!
    sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
    kill -9 "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true
  done
  backfill 18901 "$DB" || true
  # A fault storm, then a calm rerun.
  STORM="$WORK/storm-$RUN.db"
  BEFORE=$(faults_seen 18902)
  backfill 18902 "$STORM" || true
  FAULTS=$((FAULTS + $(faults_seen 18902) - BEFORE))
  backfill 18901 "$STORM" || true
  ROUND_OK=1
  for db in "$DB" "$STORM"; do
    content "$db" >"$WORK/got.txt"
    if ! cmp -s "$WORK/reference.txt" "$WORK/got.txt"; then ROUND_OK=0; fi
    MISSING=$(comm -23 "$WORK/reference.txt" <(sort "$WORK/got.txt") | wc -l)
    LOST=$((LOST + MISSING))
  done
  [ "$ROUND_OK" = 1 ] && SAME=$((SAME + 1))
  echo "round $RUN: $([ "$ROUND_OK" = 1 ] && echo identical || echo DIFFERENT) ($REF_ROWS reference rows)"
done

LEFT=$((BUDGET - (SECONDS - START))); [ "$LEFT" -lt 60 ] && LEFT=60
echo "property tests (PROPTEST_CASES=${SOAK_CASES:-5000}, at most ${LEFT}s)…"
PROP=ok
PROPTEST_CASES=${SOAK_CASES:-5000} timeout "$LEFT" cargo test -q -p fetchers --test parser_props >"$WORK/props.log" 2>&1 || PROP=failed
echo "reliability tests…"
REL=ok
{ cargo test -q --test suite reliability:: && cargo test -q --test pg_stop_mid_page; } \
  >"$WORK/reliability.log" 2>&1 || REL=failed

echo "rounds run: $RUN"
echo "rounds identical: $SAME"
echo "faults injected: $FAULTS"
echo "rows lost: $LOST"
echo "property tests: $PROP; reliability tests: $REL"
[ "$SAME" = "$RUN" ] && [ "$LOST" = 0 ] && [ "$PROP" = ok ] && [ "$REL" = ok ]
