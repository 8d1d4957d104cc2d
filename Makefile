VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install serve test check lint format typecheck governance

$(VENV)/bin/agentos: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/bin/agentos

serve: install
	$(VENV)/bin/agentos serve

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check agentos tests scripts
	$(VENV)/bin/ruff format --check agentos tests scripts
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy

governance: install
	$(VENV)/bin/agentos governance check
	$(VENV)/bin/agentos governance diff
	$(VENV)/bin/agentos governance errors --check

check: lint typecheck governance test

format: install
	$(VENV)/bin/ruff format agentos tests scripts
	$(VENV)/bin/ruff check --fix agentos tests scripts
