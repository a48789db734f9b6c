# jig — build, run, test.
#
#   make run    build jig and open the workbench on the quickstart flow
#   make test   build everything and run every test (with -race)
#   make bench  benchmarks: jig against bare grpc-go / raft baselines
#   make fuzz   run each fuzz target for FUZZTIME
#   make lint   gofmt, go vet, staticcheck
#   make proto  regenerate proto/*pb from proto/*.proto

GO        ?= go
BIN       := bin
JIG       := $(BIN)/jig
FUZZTIME  ?= 30s
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
STATICCHECK_VERSION        := v0.8.2
GOBIN_DIR := $(CURDIR)/$(BIN)/tools

.PHONY: all build run test test-short bench bench-compare fuzz lint proto clean

all: build

build:
	$(GO) build -o $(JIG) ./cmd/jig

run: build
	./$(JIG)

test:
	$(GO) vet ./...
	$(GO) build ./...
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -count=1 -short ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

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

# protoc comes from Debian (protobuf-compiler); the Go plugins from the
# module proxy at pinned versions. The generated code is committed, so only
# changes to proto/*.proto need this.
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
