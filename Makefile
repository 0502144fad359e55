# Two commands for everyone: `make demo` and `make test`.  Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test release lint bench weights crosscheck

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==26.3"
	$(PY) -m pip install --quiet --group dev
	touch $(STAMP)

# Regenerate the student release, then grade the example submissions and print the table.
demo: $(STAMP)
	$(PY) -m autograder assign
	$(PY) -m autograder demo

# The whole test suite (what CI runs).
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2

release: $(STAMP)
	$(PY) -m autograder assign

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP)
	$(PY) -m bench

# Retrain the Sonnets weights shipped with the notebook's optional section (a few minutes).
weights: $(STAMP)
	$(PY) -m autograder.weights

# The full 22,001-step run on emulated arm64 against the canonical file (root; ~10 minutes).
crosscheck: $(STAMP)
	$(PY) -m crosscheck
