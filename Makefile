# lindiff: `make book` builds the site, `make test` runs every test. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VENDOR := _vendor/.copied
HTML   := _build/html
CHROMIUM ?= /usr/bin/chromium
# flags of the site build: warnings are errors, every reference must resolve
JB_FLAGS := -W -n --keep-going
# One BLAS thread per process: the book's matrices are small (d <= 400), and
# with several processes (pytest + kernel) threaded BLAS oversubscribes the
# cores; measured 5x slower eigh at d = 400 on a busy 2-core machine.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
# matplotlib's font cache lives in the venv: a cache written by another
# installation (with font paths that no longer exist) cannot spoil the figures
export MPLCONFIGDIR ?= $(CURDIR)/.venv/matplotlib

.PHONY: help setup book test test-lib test-notebooks build-check linkcheck test-browser bench lab clean

help:
	@echo "make book   build the static site into $(HTML) (executes every chapter)"
	@echo "make test   unit tests, notebooks (nbval), -W build, link check, browser tests"
	@echo "make lab    JupyterLab with the book's .md files opening as notebooks"
	@echo "make bench  benchmarks against the obvious alternatives (a few minutes; records book/data/benchmarks.json)"
	@echo "make clean  remove build outputs (keeps .venv and node_modules)"

# --- setup -------------------------------------------------------------------
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# JupyterLab: open MyST .md files as notebooks (jupytext)
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@printf '%s\n' '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' \
	  > $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# Only the asset files the site needs, not whole packages (~2 MB instead of ~40 MB).
$(VENDOR): node_modules/.package-lock.json
	@rm -rf _vendor && mkdir -p _vendor/mathjax/output/chtml/fonts _vendor/mathjax/input/tex _vendor/widgets
	cp node_modules/mathjax/es5/tex-mml-chtml.js _vendor/mathjax/
	cp -r node_modules/mathjax/es5/output/chtml/fonts/woff-v2 _vendor/mathjax/output/chtml/fonts/
	cp -r node_modules/mathjax/es5/input/tex/extensions _vendor/mathjax/input/tex/
	cp node_modules/@jupyter-widgets/html-manager/dist/embed.js _vendor/widgets/
	cp node_modules/@jupyter-widgets/html-manager/dist/*.woff2 node_modules/@jupyter-widgets/html-manager/dist/*.woff _vendor/widgets/
	@touch $@

setup: $(STAMP) $(VENDOR)

# --- the site ------------------------------------------------------------------
book: setup
	@start=$$(date +%s); \
	LINDIFF_STATIC_WIDGETS=1 $(BIN)/jupyter-book build . $(JB_FLAGS) || exit 1; \
	echo "Built in $$(( $$(date +%s) - start )) s. The site is at $(CURDIR)/$(HTML)/index.html"

# --- tests ---------------------------------------------------------------------
test: setup chromium
	@set -e; t0=$$(date +%s); \
	echo "== 1/5 library unit tests"; $(MAKE) --no-print-directory test-lib; \
	echo "== 2/5 notebooks (pytest --nbval over book/*.md)"; $(MAKE) --no-print-directory test-notebooks; \
	echo "== 3/5 site build with $(JB_FLAGS)"; $(MAKE) --no-print-directory build-check; \
	echo "== 4/5 internal links"; $(MAKE) --no-print-directory linkcheck; \
	echo "== 5/5 browser tests (chromium) and determinism of glued numbers"; $(MAKE) --no-print-directory test-browser; \
	echo "make test: all passed in $$(( $$(date +%s) - t0 )) s"

test-lib:
	$(BIN)/python -m pytest tests -m "not browser and not site" -q

test-notebooks:
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env book -q -p no:cacheprovider

build-check:
	@rm -rf _build/html
	@start=$$(date +%s); \
	LINDIFF_STATIC_WIDGETS=1 $(BIN)/jupyter-book build . $(JB_FLAGS) > _build_log.txt 2>&1 \
	  || { cat _build_log.txt; rm -f _build_log.txt; exit 1; }; \
	grep -E "^(WARNING|ERROR)|build succeeded" _build_log.txt || true; rm -f _build_log.txt; \
	echo "pages built: $$(find $(HTML) -name '*.html' -not -path '*/_static/*' | wc -l) in $$(( $$(date +%s) - start )) s"

# every local href/src/srcset, CSS url() and #anchor of the built site; read as the
# invoking user (linkchecker, run as root, switches to `nobody`, who cannot read
# a checkout inside a private 0700 folder)
linkcheck:
	$(BIN)/python tests/sitelinks.py $(HTML)

# browser tests, and the glued numbers of the build against those of the nbval run
test-browser:
	$(BIN)/python -m pytest tests -m "browser or site" -q

# Browser tests drive Debian's chromium (never a downloaded browser).
.PHONY: chromium
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	else \
	  echo "The browser tests need Debian's chromium at $(CHROMIUM). Install it with:"; \
	  echo "    sudo apt-get install -y chromium"; \
	  echo "or point CHROMIUM=/path/to/chromium at another Chromium build."; exit 1; \
	fi

# Benchmarks (not part of make test; tests/test_bench.py runs a tiny version).
# The recorded run is shown on the page book/performance.md. The whole-site size
# is read from _build/html, so build the site first for an up-to-date figure.
bench: setup
	$(BIN)/python -m lindiff.bench

lab: setup
	$(BIN)/jupyter lab --notebook-dir=.

clean:
	rm -rf _build _vendor _notebooks .pytest_cache
