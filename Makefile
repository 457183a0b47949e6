# cqlwire: developer entry points. `make help` lists them.
SHELL := /bin/bash
GO ?= go
FUZZTIME ?= 20s
BENCHCOUNT ?= 6

.PHONY: help test unit lint fuzz bench tools-test

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

test: lint unit tools-test ## lint, unit + integration tests (integration needs a node: make cassandra)

unit: ## go test ./... in the driver module
	$(GO) test -count=1 ./...

tools-test: ## tests of the nested tools module (differential oracle, capture tools)
	@if [ -f tools/go.mod ]; then cd tools && $(GO) test -count=1 ./...; fi

lint: ## gofmt and go vet, both modules
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if [ -f tools/go.mod ]; then cd tools && $(GO) vet ./...; fi

fuzz: ## run every fuzz target for FUZZTIME each
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

bench: ## benchmarks with allocation counts
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) ./...
