# Two commands do everything on a fresh machine:
#   make book   -> installs, then builds the demo-profile book into _build/html
#   make test   -> installs, then runs the test suite
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= demo
PYTEST_ARGS ?=

.PHONY: install book smoke-book test clean-book

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@# compile (and cache) numba kernels of UMAP once at install time, not in the first book build
	$(PY) -c "import numpy as np; from synthaug_utils.analysis.quality import project; project(np.random.default_rng(0).normal(size=(300, 64)).astype(np.float32), 'umap')"
	touch $@

book: install
	$(VENV)/bin/synthaug book --profile $(PROFILE)

smoke-book: install
	$(VENV)/bin/synthaug book --profile smoke --root _build/smoke-root

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean-book:
	rm -rf _build book/*.ipynb
