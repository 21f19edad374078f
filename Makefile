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
test: chromium ## the CI suite: vet, every test with the race detector, short fuzzing, the short chaos profile
	./scripts/install-quartz.sh
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 18m $(PKGS)
	$(MAKE) fuzz FUZZTIME=5s
	$(MAKE) chaos

.PHONY: chromium
chromium: ## install headless Chromium for the dashboard's end-to-end test
	bash scripts/install-chromium.sh

.PHONY: e2e-ui
e2e-ui: chromium ## run the dashboard's end-to-end test in headless Chromium
	$(GO) test -race -count=1 -v -run TestDashboardEndToEnd ./internal/e2e/ui/

# Fuzz targets: each runs FUZZTIME in `make fuzz` (and briefly in `make test`).
FUZZ_TARGETS := ./scheduler:FuzzParseCron ./scheduler:FuzzCompileJSON ./transport:FuzzDecodeJob ./transport:FuzzPreviewRequest ./transport:FuzzClientMessage
FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME (default 30s each)
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done

.PHONY: race
race: ## run every test with the race detector, twice
	$(GO) test -race -count=2 -timeout 30m $(PKGS)

BENCH_DIR  ?= bench
BENCHSTAT  := $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
BENCH_ARGS ?= --jobs 10000 --duration 2m

.PHONY: bench
bench: ## micro-benchmarks into bench/new.txt; benchstat against bench/old.txt when it exists
	@mkdir -p $(BENCH_DIR)
	$(GO) test -run '^$$' -bench . -benchmem -count 5 $(PKGS) > $(BENCH_DIR)/new.txt || { cat $(BENCH_DIR)/new.txt; exit 1; }
	@if [ -f $(BENCH_DIR)/old.txt ]; then $(BENCHSTAT) $(BENCH_DIR)/old.txt $(BENCH_DIR)/new.txt; else $(BENCHSTAT) $(BENCH_DIR)/new.txt; echo "no baseline: make bench-save"; fi

.PHONY: bench-save
bench-save: ## keep the last make bench run as the baseline
	cp $(BENCH_DIR)/new.txt $(BENCH_DIR)/old.txt

.PHONY: bench-cluster
bench-cluster: build ## swarm bench on a local 3-server cluster (BENCH_ARGS=...)
	@mkdir -p $(BENCH_DIR)
	$(BIN) bench $(BENCH_ARGS) --out $(BENCH_DIR)/cluster.json --chart $(BENCH_DIR)/cluster.png

CHAOS_ARGS ?=
CHAOS      := bin/swarm-chaos

.PHONY: chaos-tool
chaos-tool:
	$(GO) build -o $(CHAOS) ./internal/chaos/cmd/swarm-chaos

.PHONY: chaos
chaos: build chaos-tool ## fault-injection suite, short profile (3 servers, under 5 minutes; root for partitions)
	bash scripts/chaos-deps.sh
	$(CHAOS) --profile short --binary $(BIN) $(CHAOS_ARGS)

.PHONY: chaos-long
chaos-long: build chaos-tool ## fault-injection suite, long profile (5 servers, about 35 minutes)
	bash scripts/chaos-deps.sh
	$(CHAOS) --profile long --binary $(BIN) $(CHAOS_ARGS)

.PHONY: chaos-broken
chaos-broken: chaos-tool ## prove the suite catches a bug: succeeds only if a build without the leader barrier fails it
	bash scripts/chaos-deps.sh
	$(GO) build -tags swarmbug_skipbarrier -o bin/swarm-broken ./cmd/swarm
	@$(CHAOS) --profile short --binary bin/swarm-broken $(CHAOS_ARGS); rc=$$?; \
	case $$rc in 1) echo "chaos-broken: the suite caught the broken build, as it should";; \
	0) echo "chaos-broken: the suite passed a broken build"; exit 1;; \
	*) echo "chaos-broken: the harness did not finish (exit $$rc)"; exit 1;; esac

.PHONY: lint
lint: ## go vet and staticcheck
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

.PHONY: clean
clean: ## remove build output
	rm -rf bin
