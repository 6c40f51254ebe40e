# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Each makes .venv (once) and installs minigrad into it, editable, with the dev extra.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

DOCS_STAMP := $(VENV)/.installed-docs
EXAMPLES := $(sort $(wildcard examples/[0-9][0-9]_*.py))

.PHONY: install demo test bench docs docs-serve docs-images examples notebooks clean

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
	OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} $(PY) benchmarks/run.py  # one BLAS thread unless set: ratios, not cores
	$(PY) benchmarks/anomaly.py

# The tutorial's scripts, one per page: `make examples EXAMPLES_ARGS=--smoke` trains for seconds only.
examples: $(STAMP)
	@set -e; for script in $(EXAMPLES); do echo "== $$script"; $(PY) $$script $(EXAMPLES_ARGS); done

# The same scripts as notebooks, notebooks/NN_*.ipynb, stored with their outputs: converted by jupytext
# and run in full (minutes for pages 6 and 8). NOTEBOOKS_ARGS="05 --smoke" runs page 5 in smoke mode into a
# temporary folder; NOTEBOOKS_ARGS=--check only checks that the stored notebooks match their scripts.
notebooks: $(STAMP)
	$(PY) scripts/notebooks.py $(NOTEBOOKS_ARGS)

# Every picture on the pages: docs/scripts/*.py, then each example into docs/images/NN/.
docs-images: $(STAMP)
	@set -e; for script in docs/scripts/*.py; do echo "== $$script"; $(PY) $$script; done
	@set -e; for script in $(EXAMPLES); do \
		number=$$(basename $$script | cut -c1-2); \
		echo "== $$script --out docs/images/$$number"; $(PY) $$script --out docs/images/$$number; \
	done

# The site (MkDocs, Material theme): the docs extra is installed on first use.
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --strict

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis site
