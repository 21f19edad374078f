# swarm: a distributed scheduler for timed jobs.
# `make help` lists the targets.

GO        ?= go
BIN       := bin/swarm
PKGS      := ./...
DATA_DIR  ?= ./data
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/swarm
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/swarm

.PHONY: run
run: build ## run a single-node server with a local worker on ./data
	$(BIN) server --data-dir $(DATA_DIR) --local-client

.PHONY: test
test: chromium ## run the CI test suite (with the race detector)
	./scripts/install-quartz.sh
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 18m $(PKGS)

.PHONY: chromium
chromium: ## install headless Chromium for the dashboard's end-to-end test
	bash scripts/install-chromium.sh

.PHONY: e2e-ui
e2e-ui: chromium ## run the dashboard's end-to-end test in headless Chromium
	$(GO) test -race -count=1 -v -run TestDashboardEndToEnd ./internal/e2e/ui/

.PHONY: race
race: ## run every test with the race detector, twice
	$(GO) test -race -count=2 -timeout 30m $(PKGS)

.PHONY: bench
bench: ## run the micro-benchmarks
	$(GO) test -run '^$$' -bench . -benchmem -count 5 $(PKGS)

.PHONY: lint
lint: ## go vet and staticcheck
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

.PHONY: clean
clean: ## remove build output
	rm -rf bin
