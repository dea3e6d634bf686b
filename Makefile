# Two commands a newcomer needs: `make demo` and `make test`. Each creates .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test check bench clean

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian, apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,hub]'
	@touch $@

demo: $(BIN)/.installed  ## open the app on a demo vault with invented sample data
	$(BIN)/fieldapp demo

check: $(BIN)/.installed  ## static checks only
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: check  ## everything CI runs: static checks, then the whole test suite
	$(BIN)/pytest

bench: $(BIN)/.installed  ## every benchmark (several minutes; figures beside their baselines)
	$(BIN)/python bench/vault.py
	$(BIN)/python bench/tui.py
	$(BIN)/python bench/bundles.py
	$(BIN)/python bench/merge.py
	$(BIN)/python bench/hub.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
