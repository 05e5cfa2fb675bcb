# Build, test and run the JumpCloud → Authomize connector.
GO       ?= go
BIN      := $(CURDIR)/bin
TEMPORAL := $(BIN)/temporal
TEMPORAL_CLI_VERSION := v1.5.1
STATICCHECK := $(BIN)/staticcheck
STATICCHECK_VERSION := v0.8.2

# Tests that need a real Temporal server find the CLI through this variable.
export TEMPORAL_CLI := $(TEMPORAL)

.PHONY: all build tools lint test demo demo-check bench chaos

all: build

build:
	$(GO) build ./...
	$(GO) build -o $(BIN)/worker ./worker
	$(GO) build -o $(BIN)/starter ./starter
	$(GO) build -o $(BIN)/sim ./sim

# The Temporal CLI bundles a dev server (SQLite) and the Web UI. Built once, then cached.
tools: $(TEMPORAL) $(STATICCHECK)

$(TEMPORAL):
	@mkdir -p $(BIN)
	@echo "installing the Temporal CLI $(TEMPORAL_CLI_VERSION) into $(BIN) (first build takes a few minutes)"
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

$(STATICCHECK):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(STATICCHECK)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

test: lint tools build
	$(GO) test -count=1 -timeout 30m ./...

# The fault-injection soak: 20 trials of worker kills (make test runs 3), plus every other
# chaos test.
chaos: tools build
	JCSYNC_CHAOS_TRIALS=20 JCSYNC_CHAOS_BIG_USERS=100000 $(GO) test -count=1 -timeout 90m -v ./chaos/

# The benchmark: real dev server, worker and simulator processes; tables on stdout.
bench: tools build
	$(GO) build -o $(BIN)/bench ./bench
	$(BIN)/bench --bin $(BIN)

# The demo: dev server + Web UI on :8233, simulators with a 2,000-user org, a worker, and one
# sync watched live. Ctrl-C stops everything it started.
demo:
	@bash scripts/demo.sh

# The demo, unattended on free ports: checks the summary, the schedule, the Web UI page in
# headless Chromium (skipped without one) and that everything it started has stopped.
demo-check: tools build
	@bash scripts/demo-check.sh
