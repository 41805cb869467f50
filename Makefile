# Presso's two entry points on a Debian machine:
#   make run    install what is missing, build, and serve on the embedded defaults
#   make test   install what is missing, then run every test
SHELL := /bin/bash
GO ?= go
BIN := bin/presso
# Chromium renders; poppler-utils lets the tests read PDFs back; the fonts
# cover Latin, CJK and emoji text so that documents do not show empty boxes.
DEBIAN_PACKAGES := chromium poppler-utils fonts-dejavu-core fonts-liberation fonts-noto-cjk fonts-noto-color-emoji
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test build prepare vet

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

test: prepare vet
	$(GO) test -count=1 -timeout 25m ./...
