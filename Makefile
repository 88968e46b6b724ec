# cpn-p4 — see README.md. `make demo` and `make test` set up what they need themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cpn-p4-setup
# Debian packages used by the emulated networks and the sample-pcap checks (installed when root).
# mininet: hosts, veth links and namespaces of `make demo-mininet` and tests/topo/test_mininet.py
# (its own switches are not used: P4 switches are the project's; OVS comes as a recommendation).
APT_PACKAGES ?= iproute2 tshark mininet chromium
P4SRC := $(wildcard p4src/*.p4)
BUILD := build
JSONS := $(patsubst p4src/%.p4,$(BUILD)/%.json,$(P4SRC))
# Real p4c is used when it is on PATH; otherwise the embedded compiler. Both take the same
# flags (the programs define V1MODEL_VERSION themselves). p4c writes the P4Info text format to
# a `.txt` file (p4c 1.2.4 releases refuse other suffixes such as `.txtpb`); the embedded
# compiler writes `.txtpb`. Readers (controlplane/program.py, p4target.runtime) take either.
P4C := $(shell command -v p4c-bm2-ss 2>/dev/null)
ifeq ($(P4C),)
P4C_CMD := $(BIN)/python -m p4target.compiler
P4INFO_EXT := txtpb
else
P4C_CMD := $(P4C)
P4INFO_EXT := txt
endif
# Extra compiler flags, e.g. `make build P4FLAGS=-DCQF_RECIRCULATE`.
P4FLAGS ?=
P4C_FLAGS := $(strip --arch v1model --std p4-16 -I p4src/include $(P4FLAGS))
PYTEST_ARGS ?=
# Options of the main job, e.g. `make demo DEMO_ARGS="--topology abilene --faults"`.
DEMO_ARGS ?=

.PHONY: setup build test demo demo-router demo-mininet bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# p4runtime-shell pins protobuf<3.21 (pure-Python on 3.11); the project runs it on the
	# current protobuf instead, whose generated p4runtime modules are rebuilt below.
	$(BIN)/pip install -q --no-deps p4runtime-shell==0.0.6
	$(BIN)/python -m p4target.protos --fix-installed
	touch $(STAMP)

build: $(STAMP) $(JSONS)

$(BUILD)/%.json: p4src/%.p4 $(wildcard p4src/include/*.p4) | $(STAMP)
	@mkdir -p $(BUILD)
	$(P4C_CMD) $(P4C_FLAGS) -o $@ --p4runtime-files $(BUILD)/$*.p4info.$(P4INFO_EXT) $<

# The suite runs on the default engine (native when gcc and cffi are there), then the data-plane
# suites once more on the Python engine, the reference.
test: build
	$(BIN)/pytest -q $(PYTEST_ARGS)
	CPN_P4_ENGINE=python $(BIN)/pytest -q tests/switch tests/dataplane tests/test_p4_stf_suite.py

# The main job: the in-process CPN, the controller, the Table-3 workload, a policy swap.
demo: build
	$(BIN)/python -m cpn demo $(DEMO_ARGS)

# The first demo: compile p4src/ and route a few packets through router.p4.
demo-router: build
	$(BIN)/python -m p4target.demo

# The Mininet way (root): line4 plus a DNS host, AISID and DNS requests, Base1 -> Base2 swap.
demo-mininet: build
	$(BIN)/python -m topo.mininet run --network controlplane/examples/line4.json --add-dns \
	  --mode mixed --requests 20 --policy base1 --swap-to base2 --seed 0

bench: build
	@for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(BUILD) .pytest_cache
