# jig — build, run, test.
#
#   make run    build jig and open the workbench on the quickstart flow
#   make test   build everything and run every test (with -race)
#   make chaos  slow fault tests (kill -9, SIGSTOP, RAFT linearizability
#               under faults; build tag chaos), with -race
#   make bench  benchmarks: jig against bare grpc-go / raft baselines
#   make bench-compare  the benchmarks twice (or against BASE=report.json),
#               with the change per row
#   make fuzz   run each fuzz target for FUZZTIME
#   make lint   gofmt, go vet, staticcheck, relative links of the Markdown
#               files (internal/doclinks)
#   make interop  real Jina 3.20.2 against jig (interop/cases/*.py; needs the
#               harness or JINA_PY, else it says so and passes)
#   make proto  regenerate proto/*pb from proto/*.proto
#   make trace-test  tracing against a real Jaeger v1.75.0 (built from tools/jaeger)

GO        ?= go
BIN       := bin
JIG       := $(BIN)/jig
FUZZTIME  ?= 30s
CHAOS_TIMEOUT ?= 20m
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
STATICCHECK_VERSION        := v0.8.2
GOBIN_DIR := $(CURDIR)/$(BIN)/tools

.PHONY: all build run test test-short chaos bench bench-compare fuzz lint proto clean interop trace-test

all: build

# The first build on an empty Go build cache compiles about 550 packages
# (gRPC, protobuf, RAFT, bubbletea, the standard library...): 2–5 minutes
# on two cores, more if the modules must be downloaded first. Later builds
# reuse the cache and take seconds. -v lists each package as it is
# compiled, so a cold build shows its progress instead of one silent line
# (a warm build lists nothing).
#
# bin/jig is built with the tags the engine builds every Go executor with
# (engine/build.DefaultTags; cmd/jig's TestMakefileTagsAreTheEngines keeps
# them equal), so that the packages both compile (the standard library's
# net and up, gRPC, protobuf...) are compiled once: the first `jig serve`
# of a new executor after `make build` then takes seconds, not a rebuild
# of gRPC.
JIG_BUILD_TAGS := grpcnotrace,netgo
build:
	@echo "building $(JIG): the first build on an empty Go cache compiles ~550 packages (2-5 min on 2 cores; packages are listed as they compile); later builds take seconds"
	$(GO) build -v -tags $(JIG_BUILD_TAGS) -o $(JIG) ./cmd/jig

run: build
	./$(JIG)

test:
	$(GO) vet ./...
	$(GO) build ./...
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -count=1 -short ./...

# Fault tests too slow for `make test`: child-process replicas killed with
# SIGKILL and paused with SIGSTOP under load, rolling restarts, and RAFT
# clusters checked for linearizability (porcupine) while leaders are
# killed and paused, followers wiped and the whole cluster restarted. They
# live in files tagged `chaos`; -run selects only them (the packages' other
# tests already ran in `make test`). Everything binds 127.0.0.1.
CHAOS_PKGS := ./engine/ ./consensus/
chaos:
	$(GO) test -tags chaos -race -count=1 -timeout $(CHAOS_TIMEOUT) -run '^TestChaos' $(CHAOS_PKGS)

# Benchmarks (quality bars: docs/ARCHITECTURE.md): `jig bench` measures
# jig against bare baselines
# in the same run (direct grpc-go calls, a raw bidi stream, a bare
# hashicorp/raft cluster on the same store and transport, ...), medians of
# BENCH_RUNS paired runs of BENCH_DURATION; the TUI's Go benchmarks run
# first (medians of -count BENCH_TUI_COUNT) and their figures join the same
# table. About 4 minutes on 2 cores. The report is also written to
# BENCH_JSON.
#
#   make bench                     the table
#   make bench BENCH_FLAGS='--scenario unary'   a subset (see jig bench --list)
#   make bench-compare             run twice, print the change per row
#   make bench-compare BASE=f.json run once (into bin/bench-new.json),
#                                  compare with a saved report
#   make bench-compare BASE=a.json NEW=b.json   compare two saved reports
BENCH_RUNS     ?= 5
BENCH_DURATION ?= 1s
BENCH_TUI_COUNT ?= 3
BENCH_JSON     ?= $(BIN)/bench.json
BENCH_FLAGS    ?=
BENCH_TUI      := $(BIN)/bench-tui.txt
bench: build
	@echo "== TUI Go benchmarks (go test -bench . ./tui/, -count $(BENCH_TUI_COUNT))"
	@$(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_TUI_COUNT) ./tui/ > $(BENCH_TUI) || { cat $(BENCH_TUI); exit 1; }
	@grep '^Benchmark' $(BENCH_TUI)
	@echo "== jig bench --runs $(BENCH_RUNS) --duration $(BENCH_DURATION) (progress on stderr)"
	./$(JIG) bench --runs $(BENCH_RUNS) --duration $(BENCH_DURATION) --gobench $(BENCH_TUI) --json $(BENCH_JSON) $(BENCH_FLAGS)

# jig against real Jina 3.20.2 (quality bars: docs/ARCHITECTURE.md): the
# same echo flow in both,
# one Go client driving them alternately in one run (interop/bench). Jina
# comes from JINA_HARNESS (a folder with env.sh; default ../shared/interop
# when present) or JINA_PY (a Python with jina==3.20.2); without either it
# says so and exits 0. About 4 minutes; BENCH_JINA_FLAGS e.g. '--rounds 5'.
BENCH_JINA_FLAGS ?=
.PHONY: bench-jina
bench-jina: build
	$(GO) build -o $(BIN)/jig-bench-jina ./interop/bench
	./$(BIN)/jig-bench-jina --jig $(JIG) $(BENCH_JINA_FLAGS)

# First-build times (issue 22): go build ./cmd/jig and of a scaffolded
# executor with an empty GOCACHE (module cache warm), targets 90 s and
# 45 s. Minutes each, so opt-in: `jig bench` runs them only when
# --scenario names them, never in `make bench`.
.PHONY: bench-build
bench-build: build
	./$(JIG) bench --scenario '^build/' --json $(BIN)/bench-build.json

BENCH_BASE := $(BIN)/bench-base.json
bench-compare: build
ifeq ($(BASE),)
	$(MAKE) --no-print-directory bench BENCH_JSON=$(BENCH_BASE)
	$(MAKE) --no-print-directory bench BENCH_FLAGS="--compare $(BENCH_BASE) $(BENCH_FLAGS)"
else ifeq ($(NEW),)
	$(MAKE) --no-print-directory bench BENCH_JSON=$(BIN)/bench-new.json BENCH_FLAGS="--compare $(BASE) $(BENCH_FLAGS)"
else
	./$(JIG) bench --report $(NEW) --compare $(BASE)
endif

fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOBIN=$(GOBIN_DIR) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN_DIR)/staticcheck ./...
	$(GO) test -count=1 ./internal/doclinks/

# Interop with REAL Jina 3.20.2 + docarray 0.40.2: every interop/cases/*.py
# (files starting with _ are helpers) runs from the repo root with JIG set
# to bin/jig. Jina comes from JINA_HARNESS (a folder with env.sh; default
# ../shared/interop when present) or JINA_PY (a Python where
# `pip install jina==3.20.2 docarray==0.40.2` was done). Without Jina it
# prints that and passes. CASES='a b' runs a subset, CASE_TIMEOUT (s) bounds
# each case. See interop/README.md.
interop: build
	./interop/run.sh

# Tracing against a real Jaeger v1.75.0 (tools/jaeger, its own module so
# Jaeger's dependencies stay out of go.mod): builds Jaeger (several minutes
# the first time on 2 cores, cached after), runs it on free 127.0.0.1
# ports with memory storage, sends requests through a traced flow of three
# deployments and checks the traces Jaeger's query API returns.
JAEGER_BIN := $(CURDIR)/$(BIN)/tools/jaeger
trace-test:
	cd tools/jaeger && $(GO) build -o $(JAEGER_BIN) github.com/jaegertracing/jaeger/cmd/jaeger
	JIG_JAEGER_BIN=$(JAEGER_BIN) $(GO) test -tags jaeger -count=1 -timeout 10m -run '^TestJaeger' ./engine/

# protoc comes from Debian (protobuf-compiler); the Go plugins from the
# module proxy at pinned versions. The generated code is committed, so only
# changes to proto/*.proto need this; scripts/check-generated.sh (run by
# .ci/run) checks that it leaves `git diff` empty.
proto:
	@command -v protoc >/dev/null || { echo "installing protobuf-compiler"; (apt-get install -y -q protobuf-compiler || (apt-get update -q && apt-get install -y -q protobuf-compiler)) >/dev/null; }
	GOBIN=$(GOBIN_DIR) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(GOBIN_DIR) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	PATH=$(GOBIN_DIR):$$PATH protoc -I proto \
	  --go_out=. --go_opt=module=github.com/jig-dev/jig \
	  --go-grpc_out=. --go-grpc_opt=module=github.com/jig-dev/jig \
	  proto/docarray.proto proto/jina.proto

clean:
	rm -rf $(BIN)
