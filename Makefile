# cqlwire: developer entry points. `make help` lists them.
SHELL := /bin/bash
GO ?= go
FUZZTIME ?= 20s
BENCHCOUNT ?= 6

.PHONY: help test test-unit unit lint fuzz bench bench-conn bench-gocql tools-test otel-test quickstart

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

# Every module's tests, through one summary (internal/cmd/testsummary): failures in full, then
# "tests: N passed, M failed, K skipped (why, per group)". A node is started unless one runs (or
# CQLWIRE_HOSTS names one), and kept running afterwards (make cassandra-stop stops it).
TEST_MODULES := . tools otel
define run-tests
set -o pipefail; for mod in $(TEST_MODULES); do \
  if [ -f $$mod/go.mod ]; then (cd $$mod && $(GO) test -json -count=1 $(1) ./...); fi; \
done | $(GO) run ./internal/cmd/testsummary
endef

test: lint pyenv ## lint, then unit + integration tests of every module, against the local node (started if none runs), ending with one summary line
	@if [ -z "$${CQLWIRE_HOSTS:-}" ] && ! $(CLUSTER) status 2>/dev/null | grep -q ' running '; then \
	  echo "no Cassandra node runs: starting one (make cassandra; it keeps running: make cassandra-stop)"; $(CLUSTER) start 1; fi
	@if [ -z "$${CQLWIRE_HOSTS:-}" ]; then . $(CQLWIRE_RUN_DIR)/env.sh; fi; $(call run-tests)

test-unit: ## unit tests of every module, no node (integration tests skip, and so do the long ones: -short)
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; export CQLWIRE_RUN_DIR=$$d; unset CQLWIRE_HOSTS CQLWIRE_REQUIRE_CASSANDRA; \
	  $(call run-tests,-short)

unit: ## go test ./... in the driver module
	$(GO) test -count=1 ./...

tools-test: ## tests of the nested tools module (differential oracle, capture tools)
	@if [ -f tools/go.mod ]; then cd tools && $(GO) test -count=1 ./...; fi

otel-test: ## tests of the nested OpenTelemetry adapter module, otel/ (spans, metrics, Prometheus scrape; against the node when one runs)
	@if [ -f otel/go.mod ]; then cd otel && $(GO) test -count=1 ./...; fi

lint: ## gofmt and go vet, every module
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if [ -f tools/go.mod ]; then cd tools && $(GO) vet ./...; fi
	@if [ -f otel/go.mod ]; then cd otel && $(GO) vet ./...; fi

fuzz: ## run every fuzz target of every module for FUZZTIME each (a duration, or a count such as 50000x as CI uses)
	@set -e; for mod in . tools otel; do ( cd $$mod; \
	  for pkg in $$($(GO) list ./...); do \
	    for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	      echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	    done; done ); done

bench: ## benchmarks with allocation counts
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) ./...

bench-conn: ## one-connection round trips, cqlwire conn vs gocql (answering server; the real node too when running)
	mkdir -p $(CURDIR)/.cache && cd tools && for i in 1 2 3; do $(GO) test -run '^$$' -bench RoundTrip -benchmem -benchtime 700ms ./connbench/; done | tee $(CURDIR)/.cache/connbench.txt
	cd tools && $(GO) run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /driver $(CURDIR)/.cache/connbench.txt

bench-gocql: ## cqlwire (the Session) vs gocql and the raw-wire ceiling, every workload, short run (answering server; the real node too when running): .cache/cqlbench/
	cd tools && $(GO) run ./cmd/cqlbench -short -drivers cqlwire,gocql,raw -out ../.cache/cqlbench

.PHONY: load
load: ## the load test alone against the running node: 10,000 goroutines for 30 s (CQLWIRE_LOAD_DURATION)
	@if [ -z "$${CQLWIRE_HOSTS:-}" ]; then . $(CQLWIRE_RUN_DIR)/env.sh; fi; \
	  set -o pipefail; CQLWIRE_LOAD=1 $(GO) test -count=1 -v -run '^TestRealLoad10k$$' ./cluster | grep -E '^(\s*--- |ok|FAIL|\s+\w+_test\.go:)'

# What an importer pays (tools/cmd/importcost): modules linked, stripped binary size and cold build
# time of a minimal app that logs in with a password, cqlwire against gocql (README, "Compared with gocql").
IMPORTCOST_RUNS ?= 3
.PHONY: import-cost
import-cost: ## modules linked, stripped binary size, cold build time of a minimal app: cqlwire vs gocql (IMPORTCOST_RUNS=3; IMPORTCOST_FLAGS=-md)
	cd tools && $(GO) run ./cmd/importcost -runs $(IMPORTCOST_RUNS) $(IMPORTCOST_FLAGS)

# ---------------------------------------------------------------- local Cassandra
# Node(s) of Apache Cassandra 5.0 on 127.0.0.N, started from Maven jars; see devcluster/README.md.
CLUSTER := devcluster/cluster.sh
PYTHON ?= python3
VENV ?= .venv
CASSANDRA_DRIVER_VERSION ?= 3.30.1
CQLWIRE_RUN_DIR ?= $(CURDIR)/.cache/devcluster
MTLS ?=
START_FLAGS := $(if $(filter 1 true yes,$(MTLS)),--mtls)

# While nodes run, `cluster.sh start` keeps their CQLWIRE_* settings in env.mk: every recipe
# (make test, make unit, ...) then sees them, unless the caller already set CQLWIRE_HOSTS.
# (Read with $$(file) rather than include, so that MAKEFILE_LIST, which help greps, is unchanged.)
DEVCLUSTER_ENV := $(if $(filter undefined,$(origin CQLWIRE_HOSTS)),$(wildcard $(CQLWIRE_RUN_DIR)/env.mk))
ifneq ($(DEVCLUSTER_ENV),)
$(eval $(file < $(DEVCLUSTER_ENV)))
endif

.PHONY: cassandra cassandra-cluster cassandra-stop cassandra-clean cassandra-status cassandra-env pyenv smoke-python

cassandra: ## start one Cassandra 5.0 node on 127.0.0.1:9042 (cassandra/cassandra, TLS optional; MTLS=1: client certs)
	$(CLUSTER) start 1 $(START_FLAGS)

cassandra-cluster: ## start three nodes on 127.0.0.1, .2, .3 (one DC, system_auth RF 3; MTLS=1 as above)
	$(CLUSTER) start 3 $(START_FLAGS)

cassandra-stop: ## stop the node(s) started by make cassandra / cassandra-cluster
	$(CLUSTER) stop

cassandra-clean: ## stop, then delete node data, logs and certificates
	$(CLUSTER) clean

cassandra-status: ## show the nodes, their pids and memory
	@$(CLUSTER) status

cassandra-env: ## print export CQLWIRE_... lines for the running node(s)
	@$(CLUSTER) env

pyenv: $(VENV)/.cassandra-driver-$(CASSANDRA_DRIVER_VERSION) ## Python virtualenv with the DataStax driver

$(VENV)/.cassandra-driver-$(CASSANDRA_DRIVER_VERSION):
	$(PYTHON) -m venv $(VENV)
	CASS_DRIVER_NO_CYTHON=1 $(VENV)/bin/pip install -q --disable-pip-version-check cassandra-driver==$(CASSANDRA_DRIVER_VERSION)
	rm -f $(VENV)/.cassandra-driver-*
	touch $@

# The node's CQLWIRE_* settings are exported from env.mk when it ran before make started; a node
# that `cassandra` has just started is read from the env.sh it wrote.
quickstart: cassandra ## start a local node (unless one runs) and run the Go vector-search quickstart (examples/quickstart)
	@if [ -z "$${CQLWIRE_HOSTS:-}" ]; then . $(CQLWIRE_RUN_DIR)/env.sh; fi; \
	  echo '$(GO) run ./examples/quickstart'; $(GO) run ./examples/quickstart

smoke-python: pyenv ## the DataStax Python quickstart (TLS, vector search) against the running node(s)
	$(VENV)/bin/python devcluster/quickstart.py

# The chaos suite (cluster/chaos_test.go): kills, freezes and restarts nodes of the three-node cluster
# under a Session's traffic. It needs the nodes to itself (about 5 minutes).
CHAOS_REPORT ?= $(CURDIR)/.cache/chaos/report.txt
.PHONY: chaos
chaos: cassandra-cluster ## chaos suite on three nodes (kill, freeze, rolling restart, contact point down): .cache/chaos/report.txt
	CQLWIRE_CHAOS=1 CQLWIRE_REQUIRE_CLUSTER=1 CQLWIRE_CHAOS_REPORT=$(CHAOS_REPORT) \
	  $(GO) test -count=1 -v -timeout 15m -run '^TestChaos$$' ./cluster
	@echo "report, with per-second timelines: $(CHAOS_REPORT)"
