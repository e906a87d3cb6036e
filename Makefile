# Every target bootstraps its own virtualenv, so a fresh clone needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs
RELEASE_STAMP := $(VENV)/.installed-release

.PHONY: test lint typecheck pytest demo bench docs release-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(DOCS_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,docs]"
	touch $(DOCS_STAMP)

$(RELEASE_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,release]"
	touch $(RELEASE_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict qualtrics_sdk segment_adapter

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/python -m segment_adapter demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The site goes to site/; --strict turns every warning (broken link, missing page) into a failure.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# Build the sdist and wheel, twine-check them, install the wheel into a throwaway venv and smoke-test it.
release-check: $(RELEASE_STAMP)
	PYTHON=$(abspath $(BIN)/python) bash .ci/release-smoke

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache dist build site
