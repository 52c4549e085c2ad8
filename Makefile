# The README's commands. Each target creates .venv and installs what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint kb-check bench bench-accuracy bench-speed clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

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
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
