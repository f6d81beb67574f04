# The two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export UV_PYTHON_DOWNLOADS := never
# make run keeps its embedded SQLite database inside the checkout; its dashboard listens on
# 127.0.0.1 only (.streamlit/config.toml) and treats the one person at it as an admin.
export GROVE_DATA_DIR ?= $(CURDIR)/.grove

.PHONY: install run test test-busy lint format bench soak clean

# Bytecode is compiled up front: deployments run with PYTHONDONTWRITEBYTECODE=1, where a
# missing .pyc means compiling from source on every start. compileall skips up-to-date files.
install: $(VENV)/.installed
	@$(BIN)/python -m compileall -q grove_jobs scheduler dashboard bench migrations examples/acme_jobs/src

$(VENV)/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode
	@touch $@

run: install
	$(BIN)/grove-jobs db upgrade
	$(BIN)/grove-jobs demo seed
	@echo "grove-jobs: sidecar (API http://$${GROVE_API_HOST:-127.0.0.1}:$${GROVE_API_PORT:-8765}) and dashboard (http://localhost:8501); Ctrl-C stops both"
	@trap 'kill 0' EXIT; \
	$(BIN)/grove-jobs scheduler & \
	GROVE_ANONYMOUS_ROLE=$${GROVE_ANONYMOUS_ROLE:-admin} $(BIN)/python -m dashboard.serve

test: install
	$(BIN)/pytest

# The browser tests with two CPU-bound processes beside them: waits must follow the page's own
# ready state, so a busy machine may only make the suite slower, never red.
test-busy: install
	@$(BIN)/python -c 'while True: pass' & hog1=$$!; \
	$(BIN)/python -c 'while True: pass' & hog2=$$!; \
	trap 'kill $$hog1 $$hog2' EXIT; \
	$(BIN)/pytest tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m bench

# Minutes-long, under faults (restarts the local PostgreSQL once); not part of `make test`.
soak: install
	$(BIN)/python -m bench.soak --minutes $${SOAK_MINUTES:-10}

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
