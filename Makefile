# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint completions docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-installs only when pyproject.toml changes, so running it again is quick and harmless.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install liveagent (console script: .venv/bin/liveagent)

demo: install  ## a whole chat against the built-in sandbox, step by step and then with `chat`
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

lint: install
	$(BIN)/ruff check liveagent_cli tests
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint  ## lint, type-check and run the whole suite (three workers on two cores: most tests wait on subprocesses)
	$(BIN)/python -m compileall -q liveagent_cli  # subprocess-heavy tests would otherwise recompile each run
	$(BIN)/python -m pytest -q -n 3 --dist worksteal  # an idle worker takes queued tests: no tail of long ones

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

docs: install  ## regenerate docs/reference.md, the command reference, from --help (a test fails when it drifts)
	$(BIN)/python scripts/readme_reference.py

completions: install  ## regenerate completions/ from the app (a test fails when they are stale)
	for sh in bash zsh fish; do _LIVEAGENT_COMPLETE=source_$$sh $(BIN)/liveagent > completions/liveagent.$$sh; done

.PHONY: bench
bench: install  ## step costs, delivery latency, sandbox capacity, memory (both APIs); writes bench/results.md (~13 min)
	$(BIN)/python -m compileall -q liveagent_cli  # as a pip install would; see README "Performance"
	$(BIN)/python bench/run.py
