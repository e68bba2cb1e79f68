# Two commands do everything on a fresh machine:
#   make book   -> installs, then builds the demo-profile book into _build/html
#   make test   -> installs, then runs the test suite
#   make lint   -> installs, then checks the code with ruff (lint and format); CI runs it before make test
#   make pdf    -> after make book: the built book as one PDF, _build/pdf/book.pdf (needs chromium)
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= demo
PYTEST_ARGS ?=

.PHONY: install book smoke-book pdf lint test clean-book screenshots

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

# One PDF of the book built by `make book` (ROOT ?= the repository; e.g. ROOT=_build/smoke-root) in
# $(ROOT)/_build/pdf/book.pdf. Nothing is executed. Needs Debian's chromium (apt-get install -y chromium).
ROOT ?=
pdf: install
	$(VENV)/bin/synthaug pdf $(if $(ROOT),--root $(ROOT))

# A PNG of every page of the built book (HTML ?= _build/html) in _build/screenshots, for checking it by eye.
# Needs Debian's chromium (apt-get install -y chromium). Not part of `make test`.
HTML ?= _build/html
screenshots: install
	$(PY) -c "from synthaug_utils.presentation.screenshots import screenshot_book; screenshot_book('$(HTML)', '$(HTML)/../screenshots')"

# ruff's settings are in pyproject.toml ([tool.ruff]); `ruff format` (without --check) fixes the layout.
lint: install
	$(PY) -m ruff check
	$(PY) -m ruff format --check

# pytest's exit code 5 (no tests collected) fails like any other non-zero code, with a line saying why.
test: install
	$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; fi; exit $$rc

clean-book:
	rm -rf _build book/*.ipynb
