# Two commands a newcomer needs: `make demo` and `make test`. Each creates .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CC ?= cc
# Moves the wall clock of the test processes (tests/clockshift/clockshift.c).
CLOCKSHIFT := $(VENV)/clockshift.so
# The shifted-clock passes: 400 days ahead, and a date in 2031 (any day the suite may
# meet). The hub tests stay out: SeaweedFS reads the real clock. The kill -9 loops run
# shorter there (the full loops run in the real-clock pass and in test-stress).
SHIFTED_PYTEST = FIELDAPP_CRASH_KILLS=40 FIELDAPP_OUTBOX_KILLS=24 FIELDAPP_MERGE_KILLS=10 FIELDAPP_LEAVING_KILLS=20 \
	LD_PRELOAD=$(abspath $(CLOCKSHIFT)) $(BIN)/pytest -q -m "not hub" -p no:cacheprovider

.PHONY: demo test test-shifted test-stress check bench clean

# The versions CI tested, each file checked against its hash (requirements.lock, README:
# "Updating dependencies"), then fieldapp itself, editable, with nothing resolved again.
$(BIN)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian, apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
		echo "requirements.lock does not cover pyproject.toml: regenerate it (README, Updating dependencies)"; exit 1; }
	@touch $@

$(CLOCKSHIFT): tests/clockshift/clockshift.c $(BIN)/.installed
	@$(CC) -O2 -shared -fPIC -Wall -Wextra -Werror -o $@ $< -ldl \
		|| { echo "a C compiler builds the clock shifter: on Debian, apt-get install gcc"; exit 1; }

demo: $(BIN)/.installed  ## open the app on a demo vault with invented sample data
	$(BIN)/fieldapp demo

check: $(BIN)/.installed  ## static checks only
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: check $(CLOCKSHIFT)  ## everything CI runs: static checks, the suite, the suite on moved clocks
	$(BIN)/pytest
	$(MAKE) --no-print-directory test-shifted

# The two shifted passes run side by side (one per core; each its own temp folder), and
# their output is shown one after the other once both are done.
test-shifted: $(BIN)/.installed $(CLOCKSHIFT)  ## the suite (but the hub) with the clock moved
	@echo "== the suite with the clock 400 days ahead, and on 2031-06-15, side by side"
	@out=$$(mktemp -d); \
	CLOCKSHIFT_SECONDS=$$((400 * 86400)) $(SHIFTED_PYTEST) --basetemp=$$out/ahead \
		> $$out/ahead.log 2>&1 & ahead=$$!; \
	CLOCKSHIFT_SECONDS=$$(( $$(date -d '2031-06-15 10:00' +%s) - $$(date +%s) )) \
		$(SHIFTED_PYTEST) --basetemp=$$out/later > $$out/later.log 2>&1 & later=$$!; \
	wait $$ahead; one=$$?; wait $$later; two=$$?; \
	echo "== the clock 400 days ahead"; cat $$out/ahead.log; \
	echo "== the clock on 2031-06-15"; cat $$out/later.log; \
	rm -rf $$out; [ $$one -eq 0 ] && [ $$two -eq 0 ]

test-stress: $(BIN)/.installed  ## the kill -9 loops with two CPU-bound processes beside them
	@$(BIN)/python -c 'while True: pass' & one=$$!; \
	$(BIN)/python -c 'while True: pass' & two=$$!; \
	trap 'kill $$one $$two 2>/dev/null' EXIT INT TERM; \
	$(BIN)/pytest -q -m slow -p no:cacheprovider

bench: $(BIN)/.installed  ## every benchmark (several minutes; figures beside their baselines)
	$(BIN)/python bench/vault.py
	$(BIN)/python bench/tui.py
	$(BIN)/python bench/bundles.py
	$(BIN)/python bench/merge.py
	$(BIN)/python bench/hub.py
	$(BIN)/python bench/twoway.py
	$(BIN)/python bench/levels.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
