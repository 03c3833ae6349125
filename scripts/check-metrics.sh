#!/usr/bin/env bash
# Runs a live daemon against the bundled simulator (with 429s and server errors injected, so the
# retry and pause counters move) and checks its /metrics exposition with Prometheus's own
# `promtool check metrics` (Debian package: prometheus). Used by .ci/run.
# Usage: scripts/check-metrics.sh [path/to/paddock]
set -euo pipefail
paddock=${1:-target/debug/paddock}
command -v promtool >/dev/null || { echo "promtool not found: apt-get install prometheus" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl not found: apt-get install curl" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sim_port=$(free_port)
metrics_port=$(free_port)

export RACING_API_USERNAME=ci RACING_API_PASSWORD=ci-secret
"$paddock" simulate-api --listen "127.0.0.1:$sim_port" \
  --faults "rate_limit_every=3,retry_after_secs=1,server_error_rate=0.2" \
  --log-format json >"$work/sim.log" 2>&1 &
pids+=($!)

cat >"$work/paddock.toml" <<TOML
[api]
base_url = "http://127.0.0.1:$sim_port/v1"
rate_limit_per_second = 20.0
backoff_min_ms = 50
backoff_max_ms = 200

[database]
url = "sqlite://$work/paddock.db"

[jobs.master_reference]
cron = "*/20 * * * * *"

[jobs.master_entities_daily]
enabled = false

[jobs.master_entities_weekly]
enabled = false

[jobs.races_and_runners]
cron = "*/20 * * * * *"
racecard_days_ahead = 0
result_days_back = 0

[jobs.derive_full]
enabled = false

[jobs.publish]
cron = "*/20 * * * * *"

[publish]
path = "$work/analytics.db"

[daemon]
listen = "127.0.0.1:$metrics_port"
TOML

"$paddock" --config "$work/paddock.toml" --log-format json daemon >"$work/daemon.log" 2>&1 &
pids+=($!)

# Wait (at most two minutes) until the three jobs have run once (the publish exports the
# analytics copy's gauges).
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$metrics_port/metrics" >"$work/metrics.txt" 2>/dev/null &&
     grep -q '^paddock_runs_total{job="races_and_runners"' "$work/metrics.txt" &&
     grep -q '^paddock_runs_total{job="master_reference"' "$work/metrics.txt" &&
     grep -q '^paddock_analytics_copy_age_seconds' "$work/metrics.txt"; then
    break
  fi
  sleep 1
done
if ! grep -q '^paddock_runs_total' "$work/metrics.txt" 2>/dev/null; then
  echo "the daemon exported no finished run within two minutes; its log:" >&2
  tail -n 40 "$work/daemon.log" >&2
  exit 1
fi
grep -E "^paddock_(api_retries|api_429|limiter|analytics_copy)" "$work/metrics.txt"
promtool check metrics <"$work/metrics.txt"
echo "promtool: the live daemon's /metrics passes"
