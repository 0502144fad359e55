# Two commands for everyone: `make demo` and `make test`.  Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test check release lint bench weights crosscheck system-packages regenerate mutate sabotage

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==26.3"
	$(PY) -m pip install --quiet --group dev
	touch $(STAMP)

# Regenerate the student release, then grade the example submissions and print the table.
demo: $(STAMP)
	$(PY) -m autograder assign
	$(PY) -m autograder demo

# What some tests need from the system: Chromium (the browser test), QEMU and debootstrap (the
# arm64 check), capsh (a container's root: test_rungs, test_gradescope), openssl (test_dask's
# certificates).  Installed with apt-get when we are root on Debian/Ubuntu and they are missing;
# elsewhere those tests skip, each with a one-line reason.
SYSTEM_PACKAGES := chromium qemu-user-static debootstrap libcap2-bin openssl
system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! { command -v chromium && command -v qemu-aarch64-static && command -v debootstrap && command -v capsh && command -v openssl; } >/dev/null; then \
		echo "installing $(SYSTEM_PACKAGES) with apt-get"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null; } || \
		echo "could not install $(SYSTEM_PACKAGES): the tests that need them will skip"; \
	fi

# The whole test suite (what CI runs).
test: $(STAMP) system-packages
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2

# Before each commit: lint and the tests that give an answer in a few minutes (those not marked
# slow: no full 22,001-step training, no whole notebook, no emulated machine).  `make test` stays
# the gate.
check: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 -m "not slow" -q

release: $(STAMP)
	$(PY) -m autograder assign

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP)
	$(PY) -m bench

# Rebuild every generated file, in dependency order: the references (from the solution cells),
# the student release (from source/), the example submissions (from the release).  Add
# `make weights` first when charrnn/ or its training changed.  tests/authoring/test_generated.py checks all three.
regenerate: $(STAMP)
	$(PY) -m autograder references
	$(PY) -m autograder assign
	$(PY) -m autograder.authoring.examples

# Retrain the Sonnets weights shipped with the notebook's optional section (a few minutes).
weights: $(STAMP)
	$(PY) -m autograder.authoring.weights

# The full 22,001-step run on emulated arm64 against the canonical file (root; ~10 minutes).
crosscheck: $(STAMP) system-packages
	$(PY) -m crosscheck

# Mutation testing of the judges, reports, exports, submission reading and the wire codec
# (pyproject.toml's [tool.mutmut]); prints each module's score.  Not part of `make test`.
mutate: $(STAMP)
	rm -rf mutants
	$(PY) -m mutmut run > /dev/null
	$(PY) tests/mutation_score.py

# Each protection the README promises, broken one at a time in a copy of the project, and the
# tests that must then fail (tests/sabotage.py: the sandbox's layers, check.py and nbgrader,
# which mutmut cannot reach).  About 25 minutes on 2 cores; not part of `make test`.
sabotage: $(STAMP) system-packages
	$(PY) tests/sabotage.py
