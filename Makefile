# The README's two commands are `make run` and `make test`; each sets up what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup setup-test system-deps lint typecheck bench clean

run: setup
	$(BIN)/python -m gateway

test: setup-test
	$(BIN)/ruff check domain gateway providers tests bench
	$(BIN)/ruff format --check domain gateway providers tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Python packages into the project's virtual environment, and the deep-chat widget from npm.
setup:
	bash scripts/setup.sh

setup-test:
	bash scripts/setup.sh --test

bench: setup-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache test-artifacts
