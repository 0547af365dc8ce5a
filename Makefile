# Veilgate — the two commands a new user needs are `make demo` and `make test`.
# Both install what is missing first (scripts/setup.sh), so they work on a fresh Debian 12 machine.

SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
DEMO_OUTPUT ?= demo-output
CONFIG ?= release

.PHONY: all setup build demo test lint format bench deb deb-test clean help console-screenshots

all: build

help:
	@echo "make demo   — set up, build, and show Veilgate's policy engine on the example policy"
	@echo "make test   — set up, build, and run the whole test suite (what CI runs)"
	@echo "make bench  — release build and benchmarks with their baselines"
	@echo "make build  — debug build of the veilgate command"
	@echo "make console-screenshots — the console's browser test, saving docs/console/*.png"
	@echo "make lint   — the house format (.swift-format, 120 columns), as CI checks it; make format applies it"
	@echo "make deb    — Debian package in .build/deb (release build; CONFIG=debug for a debug one)"
	@echo "make deb-test — debug package, installed, started and purged again on this machine (root)"

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build --product veilgate

demo: build
	@scripts/demo.sh "$(DEMO_OUTPUT)"

test: setup lint
	$(SWIFT) build --build-tests
	@echo "== the example policy lints clean and passes its own tests =="
	.build/debug/veilgate policy lint policies
	.build/debug/veilgate policy test policies
	@echo "== unit, property, integration and CLI tests =="
	$(SWIFT) test --skip-build --disable-xctest
	@echo "== the operator console in a real browser (headless Chromium, operator certificates) =="
	/usr/bin/python3 scripts/console-browser-test.py
	@# CI (a throw-away machine, as root) also installs the Debian package and runs the gateway from it.
	@if [ "$${VEILGATE_DEB_TEST:-}" = 1 ]; then $(MAKE) --no-print-directory deb-test; fi

# The house format: .swift-format (4 spaces, 120 columns, ordered imports), and comments wrapped at 120 columns too.
lint:
	@echo "== format (.swift-format) =="
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift
	@python3 scripts/wrap-comments.py --check $$(git ls-files '*.swift')

format:
	$(SWIFT) format format --in-place --recursive Sources Tests Package.swift
	python3 scripts/wrap-comments.py $$(git ls-files '*.swift')

bench: setup
	$(SWIFT) build -c release --product VeilBench
	@echo "(benchmarks run pinned to one core: taskset -c 0)"
	taskset -c 0 .build/release/VeilBench policy vault media federation detectors unmask
	@echo "(four cameras at once use both cores)"
	.build/release/VeilBench cameras

# The console's screenshots in docs/console/ (docs/console.md), made by its browser test.
console-screenshots: build
	VEILGATE_CONSOLE_SCREENSHOTS=docs/console /usr/bin/python3 scripts/console-browser-test.py

# The package: scripts/deb/build.sh takes the binary this builds (see docs/operations.md).
deb: setup
ifeq ($(CONFIG),debug)
	$(SWIFT) build --product veilgate
else ifeq ($(CONFIG),release)
	$(SWIFT) build -c release --product veilgate
else
	$(error CONFIG must be debug or release, not $(CONFIG))
endif
	@scripts/deb/build.sh --config $(CONFIG)

# Installs the debug package here, sets the gateway up and runs it as its systemd unit would, then purges it all.
deb-test: build
	@deb=$$(VEILGATE_DEB_COMPRESSION=gzip scripts/deb/build.sh --config debug) && scripts/deb/test-install.sh "$$deb"

clean:
	rm -rf .build "$(DEMO_OUTPUT)"
