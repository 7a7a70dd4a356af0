# netmortem: `make demo` analyses a bundled real incident, `make test` runs
# every check CI runs.

GO        ?= go
BIN       := bin/netmortem
DEMO      ?= testdata/bundles/fd-exhaustion
FUZZTIME  ?= 30s
BENCHTIME ?= 1x
PKGS      := ./...

.PHONY: all build test vet fmt-check unit check-bundles demo fuzz bench golden clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/netmortem

## test: formatting, vet, unit tests, and the incident library check
test: fmt-check vet unit check-bundles

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go') | grep -v '^testdata/' || true); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

check-bundles: build
	@if [ -d testdata/bundles ] && ls testdata/bundles/*/expect.yaml >/dev/null 2>&1; then \
		$(BIN) check testdata/bundles; \
	else echo "no incident bundles with expect.yaml yet"; fi

## demo: analyse the bundled fd-exhaustion incident and print the report
demo: build
	@$(BIN) analyze $(DEMO) || [ $$? -eq 1 ]

## fuzz: run every native fuzz target for FUZZTIME each
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$t"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s; \
		done; \
	done

## bench: Go benchmarks, then the side-by-side capture benchmark when present
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)
	@if [ -x testdata/bench/capture.sh ]; then testdata/bench/capture.sh; fi

## golden: rewrite golden files; review the diff before committing
golden:
	$(GO) test $(PKGS) -update

clean:
	rm -rf bin

-include testdata/lab/lab.mk
