# Two commands on a fresh machine (Python >= 3.11 and the package registry):
#   make demo   - the service with demo data on an embedded PostgreSQL
#   make test   - the whole test suite, lint and types
# Others: make check (everything but pytest), make schema, make lock (refresh requirements.lock).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Every dependency, dev tools included, pinned with hashes; generated from pyproject.toml by `make lock`.
LOCK := requirements.lock

.PHONY: demo test check lint types pytest install schema bench-gap
.PHONY: schema-check lock

# Rebuilt when pyproject.toml or the lock changes. The lock is installed hash-checked; the project then goes
# in editable without dependencies, since pip refuses editables in hash-checking mode and all are locked.
$(BIN)/machikoba: pyproject.toml $(LOCK)
	@echo "==> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> installing the locked dependencies from $(LOCK) (the first time takes a minute)"
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	@echo "==> installing machikoba itself (editable)"
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(BIN)/machikoba

install: $(BIN)/machikoba

demo: install
	$(BIN)/machikoba seed --demo
	$(BIN)/machikoba serve --port $(PORT)

test: check pytest

# Everything but pytest: lint, types and the schema check (no database needed).
check: lint types schema-check

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy server schema solver tests bench

# Compares against a private temporary file: two checkouts running this at once must not share one.
schema-check: install
	@generated=$$(mktemp) && trap 'rm -f "$$generated"' EXIT && \
	$(BIN)/machikoba export-schema -o "$$generated" >/dev/null && \
	{ diff -u schema.graphql "$$generated" || { echo "schema.graphql is stale: run 'make schema'"; exit 1; }; }

# A private base temp dir: pytest's shared default (/tmp/pytest-of-USER) keeps only the three newest runs, so
# another checkout's run starting meanwhile deletes this run's directories, the test PostgreSQL's included.
pytest: install
	@basetemp=$$(mktemp -d) && trap 'rm -rf "$$basetemp"' EXIT && \
	echo "$(BIN)/pytest --basetemp=$$basetemp" && $(BIN)/pytest --basetemp="$$basetemp"

schema: install
	$(BIN)/machikoba export-schema -o schema.graphql

# Re-resolve every dependency to its newest allowed release: run after editing dependencies in pyproject.toml
# and commit the result. uv resolves for every platform at once (--universal); it goes into .venv on demand.
lock: install
	@test -x $(BIN)/uv || $(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command 'make lock' --quiet -o $(LOCK)

# The GAP benchmarks (OR-Library gap1-12, then Chu & Beasley A-D / Yagiura E against HiGHS): about 25
# minutes on 2 cores. Data from ../shared/bench/gap or MACHIKOBA_GAP_DATA; results in bench/results/.
bench-gap: install
	$(BIN)/python -m bench.solver.gap_orlib
	$(BIN)/python -m bench.solver.gap_chu_e
