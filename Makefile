# parley's tasks. `make help` lists them.

# Only libopus is needed, not libopusfile. NOAEC=1 builds without echo
# cancellation (audio/aec), for systems without webrtc-audio-processing 0.3.
NOAEC ?=
export NOAEC
comma := ,
export GOFLAGS := $(strip $(GOFLAGS) -tags=nolibopusfile$(if $(NOAEC),$(comma)noaec))

# Each fuzz test runs a set number of inputs, about 10 s' worth here, not
# for a set time: go1.26's fuzzing can fail a timed run at its deadline
# with nothing found (go.dev/issue/75804). FUZZTIME=1m fuzzes each for a
# minute instead.
FUZZTIME ?=

.PHONY: help setup setup-test build run test test-slow fuzz vet fmt bench

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

setup: ## install missing system packages (Go, pkg-config, libopus)
	@scripts/setup

setup-test: ## install what the tests need too (tmux, coturn, Chromium, espeak-ng, sox, aiortc, PulseAudio, OpenSSH)
	@scripts/setup --test

build: setup ## build ./parley
	go build -o parley .

run: build ## set up, build and run parley
	./parley

test: setup-test vet ## set up and run every test, with the race detector and brief fuzzing
	go test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory test-slow
	$(MAKE) --no-print-directory fuzz

bench: build ## run the full benchmark (about 8 min) and write BENCH.md from its output
	scripts/bench

test-slow: ## the tests that take minutes of real time (pion's own timing)
	PARLEY_SLOW=1 go test -race -count=1 -timeout 10m -run '^(TestAnswerThreeMinutesLate)$$' ./internal/cli

fuzz: ## run each fuzz test briefly (FUZZTIME=1m for longer)
	go test -run '^$$' -fuzz '^FuzzParseCode$$' -fuzztime $(or $(FUZZTIME),150000x) ./rtc
	go test -run '^$$' -fuzz '^FuzzParseFrame$$' -fuzztime $(or $(FUZZTIME),250000x) ./rtc
	go test -run '^$$' -fuzz '^FuzzStreamGuard$$' -fuzztime $(or $(FUZZTIME),300000x) ./rtc
	go test -run '^$$' -fuzz '^FuzzClean$$' -fuzztime $(or $(FUZZTIME),500000x) ./internal/safetext
	go test -run '^$$' -fuzz '^FuzzFrame$$' -fuzztime $(or $(FUZZTIME),200000x) ./internal/agent
	go test -run '^$$' -fuzz '^FuzzPush$$' -fuzztime $(or $(FUZZTIME),10000x) -fuzzminimizetime 5s ./audio/jitter  # each a program of pushes and pulls; minimizing a new input may take up to 5 s with no execs shown

vet: ## go vet and a gofmt check
	go vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)

fmt: ## format the code
	gofmt -w .
