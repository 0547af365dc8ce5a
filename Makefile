# Veilgate — the two commands a new user needs are `make demo` and `make test`.
# Both install what is missing first (scripts/setup.sh), so they work on a fresh Debian 12 machine.

SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
DEMO_OUTPUT ?= demo-output

.PHONY: all setup build demo test bench clean help

all: build

help:
	@echo "make demo   — set up, build, and show Veilgate's policy engine on the example policy"
	@echo "make test   — set up, build, and run the whole test suite (what CI runs)"
	@echo "make bench  — release build and benchmarks with their baselines"
	@echo "make build  — debug build of the veilgate command"

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build --product veilgate

demo: build
	@scripts/demo.sh "$(DEMO_OUTPUT)"

test: setup
	$(SWIFT) build --build-tests
	@echo "== the example policy lints clean and passes its own tests =="
	.build/debug/veilgate policy lint policies
	.build/debug/veilgate policy test policies
	@echo "== unit, property, integration and CLI tests =="
	$(SWIFT) test --skip-build --disable-xctest

bench: setup
	$(SWIFT) build -c release --product VeilBench
	@echo "(benchmarks run pinned to one core: taskset -c 0)"
	taskset -c 0 .build/release/VeilBench policy vault media federation detectors
	@echo "(four cameras at once use both cores)"
	.build/release/VeilBench cameras

clean:
	rm -rf .build "$(DEMO_OUTPUT)"
