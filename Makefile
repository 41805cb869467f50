# Presso's two entry points on a Debian machine:
#   make run    install what is missing, build, and serve on the embedded defaults
#   make test   install what is missing, then run every test
SHELL := /bin/bash
GO ?= go
BIN := bin/presso
# Chromium renders; chromium-headless-shell is the lighter build of it that
# renderer.chromium.bin may name instead, and the renderer's tests run on
# both. poppler-utils lets the tests read PDFs back; the fonts cover Latin,
# CJK and emoji text so that documents do not show empty boxes.
DEBIAN_PACKAGES := chromium chromium-headless-shell poppler-utils fonts-dejavu-core fonts-liberation fonts-noto-cjk fonts-noto-color-emoji
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
AS_POSTGRES := $(shell [ "$$(id -u)" = 0 ] && echo "runuser -u postgres --" || echo "sudo -u postgres")
# The tests of the PostgreSQL transport and job store use this database,
# which `make test` creates on the machine's PostgreSQL 15.
export PRESSO_TEST_POSTGRES_DSN ?= postgres://presso:presso@127.0.0.1:5432/presso_test?sslmode=disable

.PHONY: run test build prepare vet postgres node-modules fuzz

prepare:
	@missing=""; \
	for package in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing with apt-get:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

build:
	$(GO) build -o $(BIN) ./cmd/presso

run: prepare build
	./$(BIN) serve $(ARGS)

vet:
	$(GO) vet ./...

# Starts the machine's PostgreSQL 15 cluster and creates the test role and
# database when they are missing.
postgres:
	@$(SUDO) pg_ctlcluster 15 main start 2>/dev/null || true
	@for i in $$(seq 1 30); do $(AS_POSTGRES) psql -qtAc 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done
	@$(AS_POSTGRES) psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname = 'presso'" | grep -q 1 || \
		$(AS_POSTGRES) psql -qc "CREATE ROLE presso LOGIN PASSWORD 'presso'"
	@# The fleet tests create a database of their own for each run.
	@$(AS_POSTGRES) psql -qc "ALTER ROLE presso CREATEDB"
	@$(AS_POSTGRES) psql -qtAc "SELECT 1 FROM pg_database WHERE datname = 'presso_test'" | grep -q 1 || \
		$(AS_POSTGRES) createdb -O presso presso_test

# The webhook tests check signatures with the npm package standardwebhooks,
# an implementation independent of Presso's.
node-modules:
	@[ -d bin/node/node_modules/standardwebhooks ] || npm install --prefix bin/node standardwebhooks@1.1.1 --no-audit --no-fund --silent

# Each fuzz target runs for FUZZ_TIME on top of its seed corpus, which the
# ordinary test run covers too.
FUZZ_TIME ?= 10s
FUZZ_TARGETS := \
	./transports/httpapi:FuzzRenderRequest \
	./engine/templates:FuzzRender \
	./engine/outbound:FuzzClassify \
	./engine/outbound:FuzzParseHost

fuzz:
	@for target in $(FUZZ_TARGETS); do \
		package=$${target%%:*}; name=$${target##*:}; \
		echo "fuzzing $$name in $$package for $(FUZZ_TIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZ_TIME) $$package || exit 1; \
	done

# One package at a time: the end-to-end and renderer tests each run several
# Chromium processes, and on two cores running them side by side makes
# their time limits flaky without saving much time.
test: prepare postgres node-modules vet
	$(GO) test -p 1 -count=1 -timeout 25m ./...
	PRESSO_TEST_CHROMIUM_BIN=/usr/bin/chromium-headless-shell $(GO) test -count=1 ./renderers/chromium
	$(MAKE) fuzz
