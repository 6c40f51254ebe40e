# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Each makes .venv (once) and installs minigrad into it, editable, with the dev extra.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench docs-images clean

install: $(STAMP)

$(STAMP): pyproject.toml examples/plugin-minimal/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet -e examples/plugin-minimal  # a third-party plugin, as a user would add one
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py
	$(VENV)/bin/minigrad train echo --out out/echo --quiet
	$(VENV)/bin/minigrad train binary-subtraction --out out/binary-subtraction --quiet

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/run.py

docs-images: $(STAMP)
	@set -e; for script in docs/scripts/*.py; do echo "== $$script"; $(PY) $$script; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
