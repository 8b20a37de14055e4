# The two commands a new user runs are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
# duckdb_arrow stages entity rows given as Arrow records into DuckDB through
# its Arrow interface instead of a temporary Parquet file (3-5x faster,
# BENCHMARKS.md). Every build we ship uses it (the Dockerfile, the docs'
# go build/install lines); make test also tests the build without it, which
# a plain `go install` or `go get` compiles.
TAGS ?= duckdb_arrow
BIN := bin
DEMO_DIR ?= /tmp/feast-demo

.PHONY: all build demo test test-short lint staticcheck fuzz proto bench clean

all: build

build:
	$(GO) build -tags $(TAGS) -o $(BIN)/feast ./cmd/feast

## demo: build feast, create a demo repo with generated data, apply, materialize, serve and query it.
demo: build
	./scripts/demo.sh $(BIN)/feast $(DEMO_DIR)

## test: every test, including the integration tests against the local PostgreSQL, MariaDB and Redis.
## scripts/test.sh races the packages that run code concurrently, tests the rest and the build without
## $(TAGS) plainly, and prints each step's time, the slowest packages and the total.
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt: not formatted (run gofmt -w):" $$unformatted; exit 1; fi
	$(GO) vet -tags $(TAGS) ./...
	GO=$(GO) TAGS=$(TAGS) ./scripts/test.sh

test-short:
	$(GO) test -tags $(TAGS) -short -count=1 ./...

## fuzz: run every Go fuzz target for FUZZTIME each (CI: 10s); crashers land in testdata/fuzz/ as regression cases.
fuzz:
	FUZZTIME=$(or $(FUZZTIME),10s) TAGS=$(TAGS) ./scripts/fuzz.sh

## lint: gofmt, go vet and staticcheck (pinned; installed into bin/ by the staticcheck target).
lint:
	gofmt -l . | (! grep .)
	$(GO) vet -tags $(TAGS) ./...
	$(MAKE) staticcheck

STATICCHECK_VERSION ?= v0.8.2
staticcheck:
	GOBIN=$(CURDIR)/$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(BIN)/staticcheck -tags $(TAGS) ./...
	cd deploy && ../$(BIN)/staticcheck ./...

## proto: regenerate the committed Go code from proto/feast/**/*.proto (needs protoc: apt-get install protobuf-compiler).
proto:
	@command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler"; exit 1; }
	mkdir -p $(BIN)
	$(GO) build -o $(BIN)/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	$(GO) build -o $(BIN)/protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc
	cd proto && PATH=$(CURDIR)/$(BIN):$$PATH protoc -I . \
		--go_out=. --go_opt=module=github.com/feastgo/feast/proto \
		--go-grpc_out=. --go-grpc_opt=module=github.com/feastgo/feast/proto \
		feast/types/*.proto feast/core/*.proto feast/serving/*.proto
	# vtprotobuf's reflection-free marshalling for what the gRPC server
	# sends and receives (server/grpccodec.go).
	$(GO) build -o $(BIN)/protoc-gen-go-vtproto github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto
	cd proto && PATH=$(CURDIR)/$(BIN):$$PATH protoc -I . \
		--go-vtproto_out=. --go-vtproto_opt=module=github.com/feastgo/feast/proto \
		--go-vtproto_opt=features=marshal+unmarshal+size \
		feast/types/Value.proto feast/serving/ServingService.proto

bench:
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN)
