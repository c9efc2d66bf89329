# iobench: `make run` runs the main job, `make test` runs the tests.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build run test fuzz image-check wine-setup vet bench bench-check bench-baseline example-report image clean

all: build

# The commit goes into every result (environment.iobench_version).
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS = -X iobench/internal/buildinfo.version=$(VERSION)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/iobench ./cmd/iobench

# The container image for Kubernetes shards: a static binary FROM scratch
# (Containerfile). IMAGE names it; push it where your cluster pulls from
# (docs/distributed.md), or load it into kind/minikube.
IMAGE ?= iobench:latest
CONTAINER ?= $(shell command -v podman || command -v docker)
image:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o bin/iobench-static ./cmd/iobench
	@test -n "$(CONTAINER)" || { echo "make image: no podman or docker here; bin/iobench-static is built, Containerfile packs it"; exit 1; }
	$(CONTAINER) build -f Containerfile -t $(IMAGE) .

# The image tested by its contents (no container is run): its filesystem
# exported, the binary in it asked for its version and models.
image-check: image
	rm -rf bin/image-fs && mkdir -p bin/image-fs
	cid=$$($(CONTAINER) create $(IMAGE)) && $(CONTAINER) export $$cid | tar -x -C bin/image-fs; $(CONTAINER) rm $$cid >/dev/null
	bin/image-fs/iobench version
	bin/image-fs/iobench list --json > /dev/null && echo "image-check: /iobench runs; its blocking model is the Go fallback (static build), as list says"

run: build
	bin/iobench run --quick

# The example report in the docs: a bare `iobench run` on this machine.
example-report: build
	rm -rf docs/example-report
	bin/iobench run --quiet --out docs/example-report

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=freebsd $(GO) vet ./...

WINE_EXEC = $(CURDIR)/.ci/wine/exec.sh
WINE_READY = $(WINE_EXEC) --which >/dev/null 2>&1 && [ -f "$${WINEPREFIX:-$$HOME/.wine-iobench}/drive_c/windows/system32/bcryptprimitives.dll" ]

# The Windows models under Wine run first, each run bounded from outside
# Wine and retried once if Wine froze (.ci/wine/test.sh says which test).
# First, because Go's Windows dialer binds a port explicitly, which TIME_WAIT sockets block (tcp_tw_reuse does not apply to
# bind), and the Linux conformance suite leaves ~20k of them on loopback for
# 60 s. The Linux tests after them connect without binding, unaffected.
# -p 1: packages one at a time, so the latency-tolerance tests (delay,
# stall, rate) do not share this machine's two cores with each other.
# .ci/gotest.sh prints the package lines, any failure in full, and at the
# end every skipped test with its reason.
test: vet
	@if $(WINE_READY); then \
		echo "== Windows models under Wine (correctness only: Wine's loopback costs ~45x native)"; \
		bash .ci/wine/test.sh ./servers/... || exit 1; \
	else \
		echo "SKIPPED: the Windows tests under Wine: Wine is not set up here (bash .ci/wine/setup.sh installs it; .ci/run does)"; \
	fi
	bash .ci/gotest.sh -race -count=1 -p 1 ./...

# Every parser of outside input, fuzzed briefly (FUZZTIME each; the seed
# corpora are in the tests, and failures found land in testdata/fuzz).
FUZZTIME ?= 20s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRun$$' -fuzztime $(FUZZTIME) ./results
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSuite$$' -fuzztime $(FUZZTIME) ./results
	$(GO) test -run '^$$' -fuzz '^FuzzMergeShards$$' -fuzztime $(FUZZTIME) ./results
	$(GO) test -run '^$$' -fuzz '^FuzzAgentRequest$$' -fuzztime $(FUZZTIME) ./cmd/internal/agent

# Installs Wine and mingw-w64 if missing and prepares the prefix.
wine-setup:
	bash .ci/wine/setup.sh

bench:
	$(GO) test -run '^$$' -bench Echo -benchtime 2s ./servers

# Performance gate against the committed baseline (docs/ci/baseline). The
# baseline was recorded at another time, so drift counts too: the threshold
# is wide. In CI, compare base and head built on the same runner instead
# (docs/ci.md).
BENCH = --models epoll,poll,gonet --conns 100 --duration 300ms --warmup 100ms --repeat 6 --slo none --quiet
BENCH_OUT ?= iobench-runs/bench-check
bench-check: build
	rm -rf $(BENCH_OUT)
	bin/iobench run $(BENCH) --out $(BENCH_OUT) > /dev/null
	bin/iobench compare docs/ci/baseline $(BENCH_OUT) --threshold 25% --metric throughput,p99

bench-baseline: build
	rm -rf docs/ci/baseline
	bin/iobench run $(BENCH) --out docs/ci/baseline > /dev/null
	rm -f docs/ci/baseline/*.svg

clean:
	rm -rf bin
