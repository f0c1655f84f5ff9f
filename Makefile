# Two commands on a fresh machine (Python >= 3.11 and the package registry):
#   make demo   - the service with demo data on an embedded PostgreSQL
#   make test   - the whole test suite, lint and types
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: demo test check lint types pytest install schema bench-gap

$(BIN)/machikoba: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/machikoba

install: $(BIN)/machikoba

demo: install
	$(BIN)/machikoba seed --demo
	$(BIN)/machikoba serve --port $(PORT)

test: install lint types pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types:
	$(BIN)/mypy server schema solver tests bench

pytest:
	$(BIN)/machikoba export-schema -o /tmp/machikoba-schema.graphql >/dev/null
	diff -u schema.graphql /tmp/machikoba-schema.graphql || (echo "schema.graphql is stale: run 'make schema'"; exit 1)
	$(BIN)/pytest

schema: install
	$(BIN)/machikoba export-schema -o schema.graphql

# The GAP benchmarks (OR-Library gap1-12, then Chu & Beasley A-D / Yagiura E against HiGHS): about 25
# minutes on 2 cores. Data from ../shared/bench/gap or MACHIKOBA_GAP_DATA; results in bench/results/.
bench-gap: install
	$(BIN)/python -m bench.solver.gap_orlib
	$(BIN)/python -m bench.solver.gap_chu_e
