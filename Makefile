# Two commands for a new Debian machine:
#   make run    set up, start the loopback lab, and run the exporter against it
#   make test   set up, then run lint, types and every test in a loopback-only network namespace
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WHEELHOUSE := $(VENV)/wheelhouse
# Debian packages the lab, the tests and the benchmarks use (installed only when missing).
APT_PACKAGES := dnsmasq-base unbound prometheus prometheus-alertmanager dnsutils iproute2 iptables openssl time gcc libc6-dev util-linux mount
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Root can make a network namespace directly; anyone else needs a user namespace too.
UNSHARE := $(shell [ "$$(id -u)" = 0 ] && echo "unshare -n" || echo "unshare -rn")
PYTEST_ARGS ?=

.PHONY: setup system-deps python-deps run test lint check clean bench bench-deps bench-soak bench-fuzz

setup: system-deps python-deps

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

python-deps: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@# The image test builds the wheel offline, as the Dockerfile does: it needs the
	@# dependencies' and the build backend's wheels at hand (the tests have no network).
	rm -rf $(WHEELHOUSE)
	$(BIN)/pip wheel -q --wheel-dir $(WHEELHOUSE) . 'setuptools>=77' wheel
	rm -f $(WHEELHOUSE)/k8s_dns_exporter-*.whl
	touch $@

run: setup
	$(BIN)/python -m lab run --config examples/lab.yaml

lint: python-deps
	$(BIN)/ruff check exporter lab tests alerts dashboards bench deploy docs
	$(BIN)/ruff format --check exporter lab tests alerts dashboards bench deploy docs
	$(BIN)/mypy

# Tests run inside a new network namespace that has only loopback: no test can
# reach any address but 127.0.0.0/8 and ::1, whatever it tries.
test: setup lint
	$(UNSHARE) sh -c 'ip link set lo up && exec $(BIN)/python -m pytest -q $(PYTEST_ARGS)'

# Benchmarks (bench/, results in bench/results/): not part of `make test`. Each runs in a
# loopback-only network namespace; the peer comparison needs prometheus-blackbox-exporter.
BENCH_APT := prometheus-blackbox-exporter gcc unbound dnsmasq-base dnsutils valgrind
BENCH_RUN = $(UNSHARE) sh -c 'ip link set lo up && exec $(BIN)/python -m $(1)'

bench-deps: python-deps $(VENV)/.bench-installed
	@missing=""; for p in $(BENCH_APT); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(VENV)/.bench-installed: pyproject.toml
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

bench: bench-deps
	$(call BENCH_RUN,bench.peer)
	$(call BENCH_RUN,bench.round_cost --against a14357c)
	$(call BENCH_RUN,bench.scale)
	$(call BENCH_RUN,bench.growth)
	$(call BENCH_RUN,bench.cost_model)
	$(call BENCH_RUN,bench.coverage)
	$(call BENCH_RUN,bench.fleet_cost)
	$(call BENCH_RUN,bench.memory)
	$(call BENCH_RUN,bench.footprint)

bench-soak: bench-deps
	$(call BENCH_RUN,bench.soak --minutes $(or $(MINUTES),30))

bench-fuzz: python-deps
	PYTHON=$(BIN)/python bench/fuzz.sh $(or $(EXAMPLES),20000)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
