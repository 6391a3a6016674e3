# Build, test and package docker-credential-anchore and anchored.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PKG      := github.com/anchored/anchored
LDFLAGS  := -s -w -X $(PKG)/internal/version.Version=$(VERSION)
GOFLAGS_BUILD := -trimpath -ldflags "$(LDFLAGS)"
BIN      := $(CURDIR)/bin
PREFIX   ?= /usr/local
DESTDIR  ?=
FUZZTIME ?= 60s
STATICCHECK_VERSION ?= 2025.1.1

.PHONY: all build run test test-short bench fuzz lint clean install package

all: build

build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ ./cmd/docker-credential-anchore ./cmd/anchored

# The main job: anchored in the foreground with state in ./.anchored (SPEC section 7).
run: build
	./scripts/run.sh

# Every test, race detector on. The binaries are built once, without -race,
# and the end-to-end tests run them as Docker would.
test: build
	ANCHORE_TEST_BINDIR=$(BIN) $(GO) test -race -count=1 -timeout 20m ./...
	ANCHORE_TEST_BINDIR=$(BIN) $(GO) test -run '^$$' -fuzz '^FuzzParseDocument$$' -fuzztime 5s ./pkg/vault

bench: build
	./scripts/bench.sh

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseDocument$$' -fuzztime $(FUZZTIME) ./pkg/vault

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

clean:
	rm -rf $(BIN) dist .anchored
