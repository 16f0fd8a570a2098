#!/usr/bin/env bash
# `make demo` / `make demo-stop`: the whole pipeline on the embedded devnet, then the three UIs.
# Every service is started in its own session with a pid file, so `demo-stop` (or Ctrl-C) stops exactly those.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export BLOCKANALYTIX_HOME=${BLOCKANALYTIX_HOME:-$ROOT/.blockanalytix}
export BLOCKANALYTIX_STORAGE=${BLOCKANALYTIX_STORAGE:-$ROOT/data}
export BLOCKANALYTIX_RANGE_SIZE=${BLOCKANALYTIX_RANGE_SIZE:-100}
export BLOCKANALYTIX_CONFIRMATIONS=${BLOCKANALYTIX_CONFIRMATIONS:-0}
export BLOCKANALYTIX_CHAIN_ID=${BLOCKANALYTIX_CHAIN_ID:-31337}
export BLOCKANALYTIX_RPC_URL=${BLOCKANALYTIX_RPC_URL:-http://127.0.0.1:8545}
export MLFLOW_TRACKING_URI=${MLFLOW_TRACKING_URI:-http://127.0.0.1:5000}
export DAGSTER_HOME=${DAGSTER_HOME:-$BLOCKANALYTIX_HOME/dagster_home}
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false  # MLflow 3's job workers would take ~8 processes
# The first fill, not the steady state, is what a demo waits on: the sensor ingests the 6 ranges and computes their
# features in one run, automation evaluates every 5 s instead of 15, and the reports skip their PNG copies.
export BLOCKANALYTIX_INGEST_RANGES_PER_RUN=${BLOCKANALYTIX_INGEST_RANGES_PER_RUN:-10}
export BLOCKANALYTIX_AUTOMATION_INTERVAL_SECONDS=${BLOCKANALYTIX_AUTOMATION_INTERVAL_SECONDS:-5}
export BLOCKANALYTIX_REPORT_PNG=${BLOCKANALYTIX_REPORT_PNG:-0}
DEMO_BLOCKS=${DEMO_BLOCKS:-600}
RUN=$BLOCKANALYTIX_HOME/run
BIN=$ROOT/.venv/bin
mkdir -p "$RUN" "$DAGSTER_HOME" "$BLOCKANALYTIX_HOME/mlflow" "$BLOCKANALYTIX_STORAGE"

log() { printf '\033[1m[demo %s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*"; }
alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

launch() {  # launch NAME PORT CMD...: a service in its own session, logging to $RUN/NAME.log
  local name=$1 port=$2; shift 2
  if alive "$name"; then log "$name already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  if port_busy "$port"; then
    log "port $port is taken by another program: stop it or set the port variables"; exit 1
  fi
  setsid "$@" >"$RUN/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN/$name.pid"
}

await() {  # await NAME PORT: until the service opens its port
  local name=$1 port=$2
  for _ in $(seq 1 240); do port_busy "$port" && { log "$name up on 127.0.0.1:$port"; return; }; sleep 0.5; done
  log "$name did not open port $port; see $RUN/$name.log"; tail -20 "$RUN/$name.log"; exit 1
}

start_api() { alive api || launch api 8000 "$BIN/blockanalytix" serve --host 127.0.0.1 --port 8000 --storage "$BLOCKANALYTIX_STORAGE"; }

PHASES=""; PHASE_AT=$SECONDS
phase() {  # phase NAME: the seconds since the previous phase ended, for the summary at "up"
  PHASES="$PHASES  $1 $((SECONDS - PHASE_AT))s"; PHASE_AT=$SECONDS
}

stop_all() {
  for name in api dagster mlflow; do
    if alive "$name"; then
      kill -TERM -- -"$(cat "$RUN/$name.pid")" 2>/dev/null || true
      for _ in $(seq 1 20); do alive "$name" || break; sleep 0.5; done
      alive "$name" && kill -KILL -- -"$(cat "$RUN/$name.pid")" 2>/dev/null || true
      log "stopped $name"
    fi
    rm -f "$RUN/$name.pid"
  done
  "$BIN/blockanalytix" devnet stop --home "$BLOCKANALYTIX_HOME" || true
}

count() { ls "$BLOCKANALYTIX_STORAGE/$1" 2>/dev/null | grep -c '\.parquet$' || true; }

progress() {  # ranges done per stage (printed when it changes)
  echo "raw $(count raw_transactions)/$1  cleaned $(count cleaned_transactions)/$1  features $(count transaction_features)/$1  scores $(count anomaly_scores)/$1  reports $(ls "$BLOCKANALYTIX_STORAGE/reports/anomaly_report" 2>/dev/null | wc -l)/$1"
}

wait_for() {  # wait_for ASSET N TIMEOUT_S: until N partitions of ASSET exist
  local asset=$1 n=$2 t=$3 start=$SECONDS said="" now
  while [ "$(count "$asset")" -lt "$n" ]; do
    if [ $((SECONDS - start)) -gt "$t" ]; then log "timed out waiting for $asset ($(count "$asset")/$n)"; return 1; fi
    sleep 3
    now=$(progress "$n")
    [ "$now" != "$said" ] && log "ranges: $now" && said=$now
  done
}

fill() {  # fill SELECTION LOG STEPS: the first run over all N ranges, once their features land, with progress
  local steps=$3 finished=0 said="" featured="" pid now
  "$BIN/blockanalytix" materialize --select "$1" --after transaction_features,address_features --ranges "$N" \
    >"$2" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 3
    now=$(progress "$N")
    [ "$now" != "$said" ] && log "ranges: $now" && said=$now
    if [ -z "$featured" ] && [ "$(count address_features)" -ge "$N" ]; then featured=1; phase ingest+features; fi
    now=$(grep -c 'STEP_SUCCESS' "$2" 2>/dev/null || true)
    if [ "$now" != "$finished" ]; then
      finished=$now
      log "train and score: $finished/$steps steps done, last: $(grep -o 'Finished execution of step "[a-z_]*" in [0-9.ms]*[0-9ms]' "$2" | tail -1 | sed -E 's/Finished execution of step "([a-z_]*)"/\1/')"
      # The API lists the score files when it starts: it starts while the reports render.
      grep -q 'step "score_transactions_asset"' "$2" && start_api
    fi
  done
  wait "$pid" || { log "the training and scoring run failed: see $2"; tail -30 "$2"; exit 1; }
}

case "${1:-start}" in
  stop) stop_all; exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop"; exit 2 ;;
esac

trap 'echo; log "Ctrl-C: stopping everything the demo started"; stop_all; exit 130' INT
cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
env | grep -E '^(BLOCKANALYTIX_|MLFLOW_TRACKING_URI|DAGSTER_HOME)' | sed 's/^/export /' >"$BLOCKANALYTIX_HOME/demo.env"

log "devnet: anvil with $DEMO_BLOCKS blocks of generated activity (reused when already generated)"
DEVNET=""
if "$BIN/blockanalytix" devnet status --home "$BLOCKANALYTIX_HOME" >/dev/null 2>&1; then
  log "devnet already running: reusing it"
else  # generated while MLflow and Dagster start (the chain-head sensor waits for the node)
  "$BIN/blockanalytix" devnet --port 8545 --blocks "$DEMO_BLOCKS" --detach --home "$BLOCKANALYTIX_HOME" &
  DEVNET=$!
fi
# Both servers start at once (they import for ~20 s each); the devnet generates its chain meanwhile.
launch mlflow 5000 "$BIN/mlflow" server --host 127.0.0.1 --port 5000 --workers 1 \
  --backend-store-uri "sqlite:///$BLOCKANALYTIX_HOME/mlflow/mlflow.db" \
  --artifacts-destination "$BLOCKANALYTIX_HOME/mlflow/artifacts"
launch dagster 3000 "$BIN/dagster" dev -w "$ROOT/workspace.yaml" -h 127.0.0.1 -p 3000
await mlflow 5000
await dagster 3000
if [ -n "$DEVNET" ]; then wait "$DEVNET" || { log "the devnet did not start (see above)"; exit 1; }; fi
phase services

N=$((DEMO_BLOCKS / BLOCKANALYTIX_RANGE_SIZE))
log "the chain-head sensor registers $N ranges and ingests them in one run that also computes their features"
# The first fill trains the models, then scores every range and renders the reports and the overview in the same
# run: one process that imports TensorFlow while the features land. Automation would take three runs, each
# waiting for its tick and the backfill daemon's 30-s loop; it takes over from here (new ranges, new champions).
if [ "$(count anomaly_scores)" -lt "$N" ]; then
  log "once the features land: training the models, then scoring every range and rendering the reports (one run)"
  fill 'address_labels,anomaly_classifier,transaction_autoencoder,address_risk_model,activity_forecaster,anomaly_scores,transaction_clusters,address_risk_scores,anomaly_report,overview_report' \
    "$RUN/train.log" 10
fi
wait_for anomaly_scores "$N" 900
phase train+score
start_api
await api 8000
log "waiting until the overview report, the API and Dagster agree on every range's anomalies"
AGREED=$("$BIN/blockanalytix" consistency --ranges "$N" --wait 600 2> >(while read -r l; do log "$l"; done >&2)) \
  || { log "the overview report, the API and Dagster still disagree (see above)"; exit 1; }
log "consistent: $AGREED"
phase api+consistency

log "phases:$PHASES  (script total ${SECONDS}s)"
cat <<MSG

  BlockAnalytix demo is up ($N ranges of $BLOCKANALYTIX_RANGE_SIZE blocks on the devnet):
    Dagster UI   http://127.0.0.1:3000  (Assets -> block_ranges partitions, Runs)
    MLflow UI    http://127.0.0.1:5000/#/experiments?workflowType=machine_learning  (training runs; registered models, alias champion)
    API          http://127.0.0.1:8000/docs
    Overview     $BLOCKANALYTIX_STORAGE/reports/overview_report.html
  Use the same settings in another shell:  source $BLOCKANALYTIX_HOME/demo.env
  Stop everything:  make demo-stop   (or Ctrl-C here)

MSG
if [ -n "${DEMO_DETACH:-}" ]; then exit 0; fi
log "services keep running; press Ctrl-C to stop them all"
while true; do sleep 3600; done
