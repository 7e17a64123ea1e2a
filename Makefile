# kmsan-tui — `make run` opens the app, `make test` runs the suite; both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow check lint types bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	@$(BIN)/python -m compileall -q kmsan_tui  # bytecode cached: a faster first frame
	$(BIN)/kmsan-tui $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

# The slow set: the same properties as `make test` with many more examples.
test-slow: $(STAMP)
	KMSAN_SLOW=1 $(BIN)/python -m pytest -n 2 -m slow

lint: $(STAMP)
	$(BIN)/ruff check kmsan_tui tests benchmarks

types: $(STAMP)
	$(BIN)/mypy

check: lint types test

# Every target printed met / NOT MET; ~10-15 min on 2 cores, writes benchmarks/RESULTS.md.
# ARGS: --quick, --only boot|workloads|buddy|tui, --baseline DIR (see run.py --help).
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
