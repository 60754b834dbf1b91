# peoplesync — the two commands a newcomer needs:
#   make run    build everything and sync examples/people.ldif into the store
#               (a throwaway local Postgres is started when DATABASE_URL is unset)
#   make test   run every test (they start their own Postgres)
SHELL := /bin/bash
GO    ?= go
BIN   := bin/peoplesync
# Where `make run` keeps its local Postgres when DATABASE_URL is unset.
DEV_PG_DIR  ?= .dev/postgres
DEV_PG_PORT ?= 54329
MAPPING_DIRS := $(patsubst %/main.go,%,$(wildcard mappings/*/main.go))

.PHONY: all build mappings run test fuzz vet fmt proto people bench soak clean pg-down

all: build

build: mappings
	$(GO) build -o $(BIN) ./cmd/peoplesync

# Every mapping module: mappings/NAME/main.go → mappings/NAME/NAME.wasm.
mappings:
	@for d in $(MAPPING_DIRS); do \
	  n=$$(basename $$d); \
	  echo "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o $$d/$$n.wasm ./$$d"; \
	  GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $$d/$$n.wasm ./$$d || exit 1; \
	done

run: build
	@set -euo pipefail; \
	if [ -z "$${DATABASE_URL:-}" ]; then \
	  DATABASE_URL=$$($(GO) run ./cmd/devpg up --dir $(DEV_PG_DIR) --port $(DEV_PG_PORT)); \
	  export DATABASE_URL; \
	  echo "Using a local Postgres in $(DEV_PG_DIR) ($$DATABASE_URL); stop it with: make pg-down"; \
	fi; \
	$(BIN) validate --log-format text; \
	$(BIN) sync --sync people --log-format text; \
	echo; echo "A few of the synced profiles:"; \
	$(BIN) profiles --sync people --limit 8 --log-format text; \
	echo; $(BIN) runs --limit 3 --log-format text

pg-down:
	$(GO) run ./cmd/devpg down --dir $(DEV_PG_DIR)

test: mappings
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz

# Each fuzzer for FUZZTIME on top of its corpus (which every go test runs): the readers
# of untrusted bytes (sync.hcl, the plugin protocol, the mapping wire, export files).
# A failing input lands in the package's testdata/fuzz; commit it as a regression case.
FUZZTIME ?= 10s
FUZZERS  := ./config:FuzzLoad ./sdk/internal/recordwire:FuzzBatchDecoder ./sdk/internal/recordwire:FuzzRawBatch \
            ./sdk/mapping/wire:FuzzDecode ./plugins/file:FuzzLDIF ./plugins/file:FuzzCSV ./plugins/file:FuzzJSONL
fuzz:
	@for f in $(FUZZERS); do \
	  pkg=$${f%%:*}; name=$${f##*:}; \
	  echo "go test -run='^$$' -fuzz='^$$name\$$' -fuzztime=$(FUZZTIME) $$pkg"; \
	  $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

# Regenerate the connector protocol's Go code (needs protoc, protoc-gen-go, protoc-gen-go-grpc).
proto:
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" $(GO) generate ./sdk/internal/connectorpb

# Measure peoplesync against ldapsearch and psql \copy on this machine (see bench/README.md).
N    ?= 100000
RUNS ?= 3
bench:
	$(GO) run ./bench -n $(N) -runs $(RUNS)

# The lease under issue 12 §1's scenario (a trial, ANALYZE, then a big sync and reruns),
# at a million people by default; fails if any run loses its lock or holds a write
# transaction as long as its lease (see bench/README.md).
SOAK_N ?= 1000000
soak:
	$(GO) run ./bench/soak -n $(SOAK_N) -ttl 10s,30s

# Regenerate the example directory (250 people).
people:
	$(GO) run ./cmd/peoplegen -n 250 -o examples/people.ldif

clean:
	rm -rf bin $(foreach d,$(MAPPING_DIRS),$(d)/$(notdir $(d)).wasm)
