#!/usr/bin/env bash
# The demo: a Temporal dev server (SQLite under ./.data, Web UI), both simulators with a
# generated org, a worker pointed at them through environment variables, and one sync
# watched live. Everything started here is stopped on exit (Ctrl-C, error or the end of an
# unattended run). The credentials are the simulators' fixed fake ones.
#
# Environment knobs (all optional):
#   DEMO_UNATTENDED=1   exit after the summary instead of waiting for Ctrl-C
#   DEMO_UI_CHECK=1     check in headless Chromium that the sync's Web UI page shows its summary
#   DEMO_DATA_DIR       where the SQLite database, logs and pids go (default ./.data)
#   DEMO_USERS          users in the generated org (default 2000)
#   DEMO_TEMPORAL_PORT DEMO_UI_PORT DEMO_JC_PORT DEMO_AZ_PORT DEMO_METRICS_PORT
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bin
DATA=${DEMO_DATA_DIR:-$ROOT/.data}
USERS=${DEMO_USERS:-2000}
TEMPORAL_PORT=${DEMO_TEMPORAL_PORT:-7233}
UI_PORT=${DEMO_UI_PORT:-8233}
JC_PORT=${DEMO_JC_PORT:-8081}
AZ_PORT=${DEMO_AZ_PORT:-8082}
METRICS_PORT=${DEMO_METRICS_PORT:-9090}
INTEGRATION=demo

mkdir -p "$DATA"
PIDS_FILE=$DATA/demo.pids
: >"$PIDS_FILE"
PIDS=()

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# stop ends what this script started, newest first: the worker gets SIGTERM and time to
# checkpoint its running stages, then the simulators and the server.
stop() {
	local code=$?
	trap - EXIT INT TERM
	if ((${#PIDS[@]} > 0)); then
		log "stopping the demo"
		for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
			kill -TERM "${PIDS[i]}" 2>/dev/null || true
			for _ in $(seq 1 100); do
				kill -0 "${PIDS[i]}" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "${PIDS[i]}" 2>/dev/null || true
			wait "${PIDS[i]}" 2>/dev/null || true
		done
	fi
	exit "$code"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start() { # start NAME LOGFILE CMD...: run in the background, remember the pid
	local name=$1 logfile=$2
	shift 2
	"$@" >"$logfile" 2>&1 &
	PIDS+=($!)
	echo "$name $!" >>"$PIDS_FILE"
}

wait_port() { # wait_port NAME PORT LOGFILE
	for _ in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "$1 did not listen on port $2; its log:" >&2
	tail -n 30 "$3" >&2
	return 1
}

log "building worker, starter and sim"
make --no-print-directory build >&2
make --no-print-directory tools >&2

log "starting the Temporal dev server (SQLite in $DATA, Web UI on http://localhost:$UI_PORT)"
start temporal "$DATA/temporal.log" "$BIN/temporal" server start-dev \
	--ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$UI_PORT" \
	--db-filename "$DATA/temporal.db" --log-level warn \
	--search-attribute JCSyncIntegration=Keyword --search-attribute JCSyncOutcome=Keyword \
	--search-attribute JCSyncUsers=Int
wait_port "Temporal" "$TEMPORAL_PORT" "$DATA/temporal.log"

log "starting the simulators with a generated org of $USERS users"
start sim "$DATA/sim.log" "$BIN/sim" --jumpcloud-address "127.0.0.1:$JC_PORT" \
	--authomize-address "127.0.0.1:$AZ_PORT" --users "$USERS" --admins 10
wait_port "JumpCloud simulator" "$JC_PORT" "$DATA/sim.log"
wait_port "Authomize simulator" "$AZ_PORT" "$DATA/sim.log"

log "starting a worker (metrics on http://localhost:$METRICS_PORT/metrics)"
export TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
export TEMPORAL_UI_URL=http://localhost:$UI_PORT
export AUTHOMIZE_INTEGRATION_NAME=$INTEGRATION
(
	# The simulators' fixed fake credentials, visible to the worker only.
	export JUMPCLOUD_API_KEY=demo-jumpcloud-api-key
	# The generated org's administrators take the built-in roles in turn: the eighth
	# (admin7) holds Read Only alone, as the vendor's setup guide asks of the key's owner.
	export JUMPCLOUD_ADMIN_EMAIL=admin7@example.com
	export JUMPCLOUD_BASE_URL=http://127.0.0.1:$JC_PORT
	export AUTHOMIZE_TOKEN=demo-authomize-token
	export AUTHOMIZE_APP_ID=demo-jumpcloud-app
	export AUTHOMIZE_BASE_URL=http://127.0.0.1:$AZ_PORT
	# The dev server keeps its data between demos: a worker rebuilt since the last one is a
	# new build, which takes new syncs only when promoted (docs/upgrades.md).
	export JCSYNC_PROMOTE=true
	exec "$BIN/worker" --metrics-address "127.0.0.1:$METRICS_PORT"
) >"$DATA/worker.log" 2>&1 &
PIDS+=($!)
echo "worker $!" >>"$PIDS_FILE"
wait_port "worker metrics" "$METRICS_PORT" "$DATA/worker.log"

log "syncing the demo org into the Authomize simulator"
"$BIN/starter" sync --integration "$INTEGRATION" --wait | tee "$DATA/summary.txt"

log "creating the schedule that syncs $INTEGRATION every 6 hours"
"$BIN/starter" schedule create --integration "$INTEGRATION" --every 6h --jitter 5m >&2

# urlencode QUERY: the query string of a Web UI list link.
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1" 2>/dev/null || printf '%s' "$1" | sed 's/ /%20/g; s/=/%3D/g; s/'"'"'/%27/g; s/!/%21/g'; }
UI=http://localhost:$UI_PORT/namespaces/default
RUN_ID=$("$BIN/starter" status --integration "$INTEGRATION" -o json | sed -n 's/^  "runId": "\(.*\)",$/\1/p' | head -n 1)
log "done. In the Web UI:"
echo "  the sync:             $UI/workflows/jcsync-$INTEGRATION/$RUN_ID/history" >&2
echo "  the schedule:         $UI/schedules/jcsync-$INTEGRATION" >&2
echo "  every sync of $INTEGRATION:  $UI/workflows?query=$(urlencode "JCSyncIntegration = '$INTEGRATION'")" >&2
echo "  syncs that did not sweep: $UI/workflows?query=$(urlencode "JCSyncIntegration = '$INTEGRATION' AND JCSyncOutcome != 'swept'")" >&2
echo "  (save a query as a view with the list's \"Save as view\" button)" >&2
echo "$UI/workflows/jcsync-$INTEGRATION/$RUN_ID/history" >"$DATA/workflow-url"
echo "  starter status --integration $INTEGRATION    # with TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS" >&2
echo "  logs: $DATA/*.log" >&2
if [[ ${DEMO_UI_CHECK:-} == 1 ]]; then
	# The sync's page in the Web UI, as a browser renders it, shows the sync's summary.
	bash scripts/ui-check.sh "$(cat "$DATA/workflow-url")" "$INTEGRATION · JumpCloud → Authomize sync"
fi
if [[ ${DEMO_UNATTENDED:-} == 1 ]]; then
	exit 0
fi
log "press Ctrl-C to stop everything"
while true; do sleep 1; done
