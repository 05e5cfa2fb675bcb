#!/usr/bin/env bash
# Runs the demo unattended on free ports with its own data directory, then checks the
# summary and that every process it started has stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "no free port" >&2
	return 1
}

export DEMO_UNATTENDED=1 DEMO_UI_CHECK=1
export DEMO_DATA_DIR=${DEMO_DATA_DIR:-$(mktemp -d)}
export DEMO_USERS=${DEMO_USERS:-2000}
export DEMO_TEMPORAL_PORT=$(free_port) DEMO_UI_PORT=$(free_port) DEMO_JC_PORT=$(free_port)
export DEMO_AZ_PORT=$(free_port) DEMO_METRICS_PORT=$(free_port)

out=$DEMO_DATA_DIR/demo-check.out
fail() {
	echo "demo-check: $*" >&2
	echo "--- demo output" >&2
	cat "$out" >&2 || true
	for f in "$DEMO_DATA_DIR"/*.log; do
		echo "--- $f" >&2
		tail -n 20 "$f" >&2 || true
	done
	exit 1
}

if ! bash scripts/demo.sh >"$out" 2>&1; then
	fail "demo.sh exited non-zero"
fi
grep -q "Sync of demo finished" "$out" || fail "no summary"
grep -Eq "^ *users +$DEMO_USERS +" "$out" || fail "the summary does not show $DEMO_USERS users read"
grep -q "sweep: removed" "$out" || fail "the sync did not sweep"
grep -q "warning: JUMPCLOUD_ADMIN_EMAIL" "$out" && fail "the vendor guide's administrator check did not run"
grep -q "created schedule jcsync-demo" "$out" || fail "no schedule"
grep -q "/schedules/jcsync-demo" "$out" || fail "no link to the schedule"
grep -q "^ui-check: \(OK\|skipped\)" "$out" || fail "the Web UI page does not show the summary"
grep -q "/namespaces/default/workflows/jcsync-demo/" "$out" || fail "no Web UI link"
if grep -q "demo-jumpcloud-api-key\|demo-authomize-token" "$DEMO_DATA_DIR/worker.log"; then
	fail "the worker logged a credential"
fi

[[ -s $DEMO_DATA_DIR/demo.pids ]] || fail "no pids recorded"
while read -r name pid; do
	if kill -0 "$pid" 2>/dev/null; then
		fail "$name (pid $pid) still runs after the demo"
	fi
done <"$DEMO_DATA_DIR/demo.pids"
for port in "$DEMO_TEMPORAL_PORT" "$DEMO_JC_PORT" "$DEMO_AZ_PORT" "$DEMO_METRICS_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		fail "port $port still answers after the demo"
	fi
done
echo "demo-check: OK"
