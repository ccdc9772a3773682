# Two commands do all the set-up: `make run` (main job) and `make test` (whole suite).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint system-deps clean

# The stamp is written only after every install succeeded, so an interrupted set-up is redone.
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install triton==3.9.0
	rm -rf *.egg-info  # a stale egg-info in the source folder shadows the installed entry points
	$(BIN)/pip install -e '.[test,lint]'
	touch $(STAMP)

system-deps:
	@bash scripts/system_deps.sh

setup: $(STAMP) system-deps

run: setup
	$(BIN)/wavegraph datasets fetch eegmmidb-s001r02
	$(BIN)/wavegraph run configs/default.yaml --speed max --set rec.overwrite=true  # the demo may be re-run

# PYTHONDONTWRITEBYTECODE (set on some VMs) would make every worker process the tests start compile the package
# from source again; with it unset each module is compiled once into __pycache__ (git-ignored) and read after.
# Two passes (tests/conftest.py): the tests not marked realtime on two workers, then the realtime ones alone (they run
# against a clock or share machine-wide LSL/Ray/JACK state). Both passes run; the target fails if either failed.
# --durations: the slowest tests; the whole suite must stay under 15 min on 2 cores.
PYTEST := PYTHONDONTWRITEBYTECODE= TRITON_INTERPRET=1 $(BIN)/python -m pytest -q -p no:cacheprovider
test: setup
	rc=0; \
	$(PYTEST) -n 2 --dist loadfile -m "not realtime" --durations=15 || rc=$$?; \
	$(PYTEST) -m realtime --durations=10 || rc=$$?; \
	exit $$rc

# pyright cannot follow setuptools' package-dir mapping: .typecheck/wavegraph links the folders as the package.
lint: setup
	mkdir -p .typecheck/wavegraph
	for d in pipeline nodes models kernels benchmarks; do ln -sfn ../../$$d .typecheck/wavegraph/$$d; done
	ln -sfn ../../wavegraph/__init__.py .typecheck/wavegraph/__init__.py
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright --level warning  # the notes of unannotated functions left unchecked (pyproject.toml) are not shown

clean:
	rm -rf $(VENV) .typecheck  # the data sets stay in the user cache (pipeline/datasets.py)
