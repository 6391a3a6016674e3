# Build, test and package docker-credential-anchore and anchored.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PKG      := github.com/anchored/anchored
LDFLAGS  := -s -w -X $(PKG)/internal/version.Version=$(VERSION)
GOFLAGS_BUILD := -trimpath -ldflags "$(LDFLAGS)"
BIN      := $(CURDIR)/bin
PREFIX   ?= /usr/local
DESTDIR  ?=
# Fuzz budgets are execution counts, not durations: with a duration, Go
# 1.26's fuzz coordinator can report a spurious "context deadline exceeded"
# at the end of the run (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 1500000x
# staticcheck by its Go module version (the proxy knows no "2025.1.1"-style names).
STATICCHECK_VERSION ?= v0.8.2

# make install: the GNU-style directories under PREFIX. The config stays in
# /etc whatever PREFIX is: the system unit passes /etc/anchored/config.yaml.
BINDIR      ?= $(PREFIX)/bin
SYSCONFDIR  ?= /etc
LIBDIR_SD   ?= $(PREFIX)/lib
UNITDIR     ?= $(LIBDIR_SD)/systemd/system
USERUNITDIR ?= $(LIBDIR_SD)/systemd/user
SYSUSERSDIR ?= $(LIBDIR_SD)/sysusers.d
TMPFILESDIR ?= $(LIBDIR_SD)/tmpfiles.d
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
# Man pages and completions, generated from the live command trees.
GEN         := $(BIN)/gen
# make package: nfpm, pinned, run with go run (no install step).
NFPM_VERSION ?= v2.45.2
DIST        ?= $(CURDIR)/dist
STAGE       ?= $(BIN)/stage
ARCH        ?= $(shell $(GO) env GOARCH)
# The package version (scripts/pkg-version.sh, docs/packaging.md): v1.2.3
# -> 1.2.3, an untagged commit -> 0.0.0~git<commit>, and a dirty tree never
# above its clean build.
PKG_VERSION ?= $(shell ./scripts/pkg-version.sh '$(VERSION)')

.PHONY: all build run run-fleet test test-short bench fuzz lint clean install package docs-gen

all: build

build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ ./cmd/docker-credential-anchore ./cmd/anchored ./cmd/anchore-credential-provider

# The main job: anchored in the foreground with state in ./.anchored (SPEC section 7).
run: build
	./scripts/run.sh

# Two replicas on a private PostgreSQL (docs/anchored.md, "make run-fleet").
run-fleet: build
	./scripts/run-fleet.sh

# Every test, race detector on. The binaries are built once, without -race,
# and the end-to-end tests run them as Docker would.
test: build
	ANCHORE_TEST_BINDIR=$(BIN) $(GO) test -race -count=1 -timeout 20m ./...
	ANCHORE_TEST_BINDIR=$(BIN) $(GO) test -run '^$$' -fuzz '^FuzzParseDocument$$' -fuzztime 100000x ./pkg/vault
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 50000x ./internal/config
	$(GO) test -run '^$$' -fuzz '^FuzzReadAnswer$$' -fuzztime 50000x ./pkg/helper/daemonclient

bench: build
	./scripts/bench.sh

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseDocument$$' -fuzztime $(FUZZTIME) ./pkg/vault
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/config
	$(GO) test -run '^$$' -fuzz '^FuzzReadAnswer$$' -fuzztime $(FUZZTIME) ./pkg/helper/daemonclient

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

clean:
	rm -rf $(BIN) dist .anchored .anchored-fleet

# Man pages and bash/zsh/fish completions from the binaries' command trees.
docs-gen:
	rm -rf $(GEN)
	$(GO) run ./packaging/gendocs -out $(GEN) -version $(VERSION)

# Installs the three binaries (the helper, anchored, the kubelet credential
# provider), the systemd units (system and user), sysusers.d and
# tmpfiles.d entries, the default config (never over an existing one), man
# pages and completions. Honours PREFIX and DESTDIR; the units' ExecStart
# follows BINDIR.
install: build docs-gen
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(USERUNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/anchored \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0755 $(BIN)/docker-credential-anchore $(BIN)/anchored $(BIN)/anchore-credential-provider $(DESTDIR)$(BINDIR)/
	for u in anchored.service anchored.socket; do \
		sed 's|/usr/bin/anchored|$(BINDIR)/anchored|' packaging/systemd/system/$$u > $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u && \
		sed 's|/usr/bin/anchored|$(BINDIR)/anchored|' packaging/systemd/user/$$u > $(DESTDIR)$(USERUNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(USERUNITDIR)/$$u || exit 1; \
	done
	install -m 0644 packaging/sysusers.d/anchored.conf $(DESTDIR)$(SYSUSERSDIR)/anchored.conf
	install -m 0644 packaging/tmpfiles.d/anchored.conf $(DESTDIR)$(TMPFILESDIR)/anchored.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/anchored/config.yaml || \
		install -m 0644 packaging/etc/config.yaml $(DESTDIR)$(SYSCONFDIR)/anchored/config.yaml
	install -m 0644 $(GEN)/man/man1/docker-credential-anchore.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(GEN)/man/man8/anchored.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(GEN)/completions/bash/docker-credential-anchore $(GEN)/completions/bash/anchored $(DESTDIR)$(BASHCOMPDIR)/
	install -m 0644 $(GEN)/completions/zsh/_docker-credential-anchore $(GEN)/completions/zsh/_anchored $(DESTDIR)$(ZSHCOMPDIR)/
	install -m 0644 $(GEN)/completions/fish/docker-credential-anchore.fish $(GEN)/completions/fish/anchored.fish $(DESTDIR)$(FISHCOMPDIR)/

# .deb and .rpm into $(DIST), packed by nfpm from the tree make install makes.
package:
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(STAGE) PREFIX=/usr
	mkdir -p $(DIST)
	for fmt in deb rpm; do \
		STAGE=$(STAGE) ARCH=$(ARCH) PKG_VERSION='$(PKG_VERSION)' \
			$(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION) package \
			--config packaging/nfpm.yaml --packager $$fmt --target $(DIST)/ || exit 1; \
	done
