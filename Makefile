# Two commands do all set-up on a fresh machine:
#   make serve   — create .venv, install, build the database from proposals/, serve on 127.0.0.1
#   make test    — create .venv, install with test extras, check the proposal files (make check),
#                  generated docs and types, run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test install build check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/kb serve

build: $(STAMP)
	$(BIN)/kb build

check: $(STAMP)
	$(BIN)/kb check proposals
	$(BIN)/kb fmt --check proposals

# The proposal files first (make check: kb check, kb fmt --check), then generated docs
# (regenerate with: $(BIN)/cog -r docs/schema.md docs/format.md), then types, then the tests.
test: $(STAMP) check
	$(BIN)/cog --check docs/schema.md docs/format.md
	$(BIN)/mypy
	$(BIN)/python -m pytest -n auto

clean:
	rm -rf $(VENV) kb.db
