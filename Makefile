# The README's commands. Each target creates .venv and installs what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip-tools and pip-audit live in their own environment so they never enter the locked tree.
TOOLS := .venv-tools
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host $(if $(UPGRADE),--upgrade)

.PHONY: run test lint kb-check bench bench-accuracy bench-speed lock audit clean

# The whole tree comes from the hashed lock; the project itself is then installed without resolving anything
# (PYTHONWARNINGS hides setuptools' general notice about editable installs: the first screen should be the bot).
$(STAMP): pyproject.toml $(TEST_LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(TOOLS)/.installed:
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet 'pip-tools>=7.4,<8' 'pip-audit>=2.7,<3'
	touch $@

## lock: re-pin the dependency tree after editing pyproject.toml (keeps other pins; UPGRADE=1 moves all to newest)
lock: $(TOOLS)/.installed
	$(PIP_COMPILE) -o $(LOCK) pyproject.toml
	$(PIP_COMPILE) --extra test --constraint $(LOCK) -o $(TEST_LOCK) pyproject.toml

## audit: known vulnerabilities in the locked tree (says so and exits 0 when the database cannot be reached)
audit:
	PYTHON=$(PYTHON) ./scripts/audit.sh $(LOCK) $(TEST_LOCK)

## run: start the bot (terminal chat when TELEGRAM_BOT_TOKEN is unset, on SQLite under data/)
run: $(STAMP)
	$(BIN)/python -m bot run

## test: lint, type-check, validate the knowledge base, then the whole test suite
test: $(STAMP)
	./scripts/ensure-postgres.sh
	./scripts/ensure-browser.sh
	$(BIN)/ruff check bot handlers tests benchmarks
	$(BIN)/mypy bot handlers
	$(BIN)/python -m bot kb check > /dev/null || $(BIN)/python -m bot kb check
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot handlers tests benchmarks
	$(BIN)/mypy bot handlers

kb-check: $(STAMP)
	$(BIN)/python -m bot kb check

## bench: every benchmark, each printing a table
bench: bench-accuracy bench-speed

bench-accuracy: $(STAMP)
	$(BIN)/python -m benchmarks.accuracy

bench-speed: $(STAMP)
	$(BIN)/python -m benchmarks.speed

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
