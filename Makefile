# DataFileDownloadDirectory: build, test, demo.
# Every target that needs something (the Kafka jars, the Python uploader,
# Debian packages) installs it itself, so a fresh machine needs only these.

SHELL := /bin/bash
export CGO_ENABLED := 1
GO ?= go
VERSION ?= $(shell cat VERSION 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/openmsi/datafiledownloaddirectory/internal/about.Version=$(VERSION) \
           -X github.com/openmsi/datafiledownloaddirectory/internal/about.Commit=$(COMMIT)
BIN := bin/DataFileDownloadDirectory
VENV := $(CURDIR)/build/venv
# How long each fuzz target runs in `make test` (issue 3 asks for about
# 20 s). Their seed corpora are in testdata/fuzz/<target>/ of each package.
FUZZTIME ?= 20s

.PHONY: crashtest all build demo demo-stop test test-windows deps kafka-lib python-venv lint fuzz bench bench-smoke clean windows package

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/DataFileDownloadDirectory

# The Windows program, cross-compiled with mingw-w64 (WINDOWS_ENV).
WINEXE := build/windows/DataFileDownloadDirectory.exe
windows: deps
	$(WINDOWS_ENV) $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(WINEXE) ./cmd/DataFileDownloadDirectory

# dist/: the .msi, .deb and .rpm of $(VERSION) (packaging/build). Signed
# when DFDD_SIGN_CERT and DFDD_SIGN_KEY are set (see README, Install).
package: deps build windows
	$(GO) run ./packaging/build -version $(VERSION) -linux-binary $(BIN) -windows-exe $(WINEXE) -out dist

# The machine-level packages the tests use, installed only when missing.
deps:
	bash test/deps.sh

kafka-lib: deps
	bash test/kafka/broker.sh lib

python-venv: deps
	bash test/python/setup-venv.sh $(VENV)

# Starts a local broker, uploads a sample folder with the real OpenMSIStream
# uploader, runs the downloader until every file is rebuilt and shows them.
# The broker keeps running and the files stay in build/demo/ (the demo says
# how to go on by hand); demo-stop stops the broker. It installs only what
# it needs: Java and Maven for the broker, Python's venv for the uploader.
demo: build
	bash test/deps.sh demo
	bash test/kafka/broker.sh lib
	bash test/python/setup-venv.sh $(VENV)
	bash test/demo.sh

demo-stop:
	bash test/kafka/broker.sh stop build/demo/broker

lint: deps
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(WINDOWS_ENV) $(GO) vet ./...

# Windows is cross-compiled with mingw-w64. librdkafka needs the stack
# protector, linked statically so that the .exe needs no DLL beyond
# Windows' own. Go may put libssp before librdkafka on the link line, where
# it would satisfy nothing; -u makes the linker take both symbols from it
# wherever it stands.
WINDOWS_LDFLAGS := -Wl,-u,__stack_chk_fail -Wl,-u,__stack_chk_guard -l:libssp.a
WINDOWS_ENV := GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc CGO_LDFLAGS="$(WINDOWS_LDFLAGS)"

# All tests: unit tests, the race detector, fuzzing for a bounded time,
# integration and interop tests against a real Kafka broker (started by the
# tests themselves) and the real Python uploader, and a small benchmark run.
test: deps kafka-lib python-venv lint build windows
	DFDD_REQUIRE_ALL=1 DFDD_PYTHON_VENV=$(VENV) DFDD_BINARY=$(CURDIR)/$(BIN) \
	  DFDD_WINDOWS_EXE=$(CURDIR)/$(WINEXE) DFDD_VERSION=$(VERSION) \
	  $(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) crashtest
	$(MAKE) fuzz
	$(MAKE) bench-smoke
	$(MAKE) test-windows

# The Windows program and every package's Windows tests, run under wine
# against a real local broker (test/windows/run; docs/windows.md says what
# this proves and what only real Windows can). Ends with one line:
# windows: N passed, M failed, K skipped.
test-windows: deps kafka-lib windows
	$(GO) run ./test/windows/run -exe $(WINEXE) -ldflags "$(LDFLAGS)" -version $(VERSION)

# The storage engine's power-cut test at full size (the race run of `make
# test` checks a smaller workload): prints "N crash points checked, M
# violations". DFDD_CRASH_SEEDS=6 checks six workloads.
crashtest:
	set -o pipefail; $(GO) test -count=1 -run '^TestCrashConsistency$$' -v ./download/storage/ | grep -E 'crash points checked|^(ok|FAIL|---|\s+crash_test)'

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeChunk$$' -fuzztime $(FUZZTIME) ./download/
	$(GO) test -run '^$$' -fuzz '^FuzzChunkPaths$$' -fuzztime $(FUZZTIME) ./download/
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./config/
	$(GO) test -run '^$$' -fuzz '^FuzzParseEnvelope$$' -fuzztime 10s ./kafkacrypto/
	$(GO) test -run '^$$' -fuzz '^FuzzParseJournal$$' -fuzztime $(FUZZTIME) ./download/storage/

# The benchmark at full size (about 10 minutes on 2 cores; not part of `make
# test`): bare consumer vs this program vs the Python original, medians of 3.
bench: build kafka-lib python-venv
	$(GO) run ./test/bench -runs 3 -out test/bench/results.md

# The same benchmark, small and once, so that it keeps working.
bench-smoke: build kafka-lib python-venv
	$(GO) run ./test/bench -scale 0.01 -runs 1 -workloads A,C,D

# Issue 3's long run (not part of `make test`): continuous uploads for
# SOAK_MINUTES, SIGKILLs every few minutes, RSS, open files, threads and
# goroutines sampled every 10 s; writes test/soak/report.md.
SOAK_MINUTES ?= 30
.PHONY: soak
soak: build kafka-lib
	$(GO) run ./test/soak/run -minutes $(SOAK_MINUTES) -binary $(CURDIR)/$(BIN) -report test/soak/report.md

clean:
	rm -rf bin build dist
