# Build, test and run the JumpCloud → Authomize connector.
GO       ?= go
BIN      := $(CURDIR)/bin
TEMPORAL := $(BIN)/temporal
TEMPORAL_CLI_VERSION := v1.5.1

# Tests that need a real Temporal server find the CLI through this variable.
export TEMPORAL_CLI := $(TEMPORAL)

.PHONY: all build tools lint test

all: build

build:
	$(GO) build ./...
	$(GO) build -o $(BIN)/worker ./worker
	$(GO) build -o $(BIN)/starter ./starter
	$(GO) build -o $(BIN)/sim ./sim

# The Temporal CLI bundles a dev server (SQLite) and the Web UI. Built once, then cached.
tools: $(TEMPORAL)

$(TEMPORAL):
	@mkdir -p $(BIN)
	@echo "installing the Temporal CLI $(TEMPORAL_CLI_VERSION) into $(BIN) (first build takes a few minutes)"
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

test: lint tools build
	$(GO) test -count=1 -timeout 30m ./...
