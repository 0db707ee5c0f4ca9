# The two commands a newcomer needs: `make sandbox` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: deps test lint unit sandbox bench crds lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip

# The operator with its test tools, and the development environment (devenv/: emulator, local
# cluster, sandbox), both editable. devenv/ is a distribution of its own so that the operator's
# wheel and image do not contain it; PEP 621 cannot name a local path dependency portably, so the
# `dev` extra cannot pull it in and both are named here.
deps: $(BIN)/python
	SKIP_PIP=1 bash hack/install-test-deps.sh
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev]" -e ./devenv

lint: deps
	$(BIN)/ruff check operator tests hack bench devenv
	$(BIN)/mypy

test: lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

unit: deps
	$(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

sandbox: deps
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/hybrid-gateway-dev sandbox

bench: deps
	$(BIN)/python bench/steady_state.py
	$(BIN)/python bench/truststore_check.py

crds: $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e .
	$(BIN)/python hack/gen_crds.py

# The image's runtime dependencies, pinned with their hashes (the Dockerfile installs them with
# --require-hashes). Run after changing [project] dependencies in pyproject.toml.
lock: $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
	  --no-emit-find-links --output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
