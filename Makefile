# nalu-book. Two commands do everything on a fresh machine:
#   make build   set up, execute every notebook in full mode, render the book
#   make test    set up, run the unit tests, build the book in quick mode, check the HTML
# `make build QUICK=1` builds the quick version; `make bench` prints the throughput benchmark.
# Notebooks run in parallel, one per core (JOBS, default: the number of cores); the speed appendix
# runs alone (it measures throughput), then the conclusions, then the intro's summary.

SHELL := /bin/bash
.DELETE_ON_ERROR:
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
# the virtual environment's own python3 kernel, whatever kernelspecs the user has elsewhere
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter
export PYDEVD_DISABLE_FILE_VALIDATION := 1

MODE := $(if $(QUICK),quick,full)
QUICK_BOOL := $(if $(QUICK),True,False)
DEVICE ?= cpu
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Longest first, so that a parallel build does not end waiting on one long chapter (each chapter's
# CPU in full mode, docs/build-history.md); the chapters not named here (those that read long runs
# or kept runs back) follow in name order.
SLOW_FIRST := 09_benchmark 01_mlp_extrapolation 08_signed_fix 06_static_arithmetic 11_recurrent \
              13_words 12_digits 03_nalu 14_why_nalu_fails 07_sign_caveat 04_mystery 02_nac
NOTEBOOKS := $(sort $(wildcard notebooks/*.py))
NAMES := $(patsubst notebooks/%.py,%,$(NOTEBOOKS))
ORDERED := $(filter $(NAMES),$(SLOW_FIRST)) $(filter-out $(SLOW_FIRST),$(NAMES))
EXECUTED := $(patsubst %,build/$(MODE)/%.ipynb,$(ORDERED))
CONCLUSIONS := build/$(MODE)/99_conclusions.ipynb
SPEED := build/$(MODE)/A1_speed.ipynb
SUMMARY := build/$(MODE)/intro_summary.md
PKG_SRC := $(wildcard nalu/*.py nalu_lab/*.py nalu_book/*.py nalu_bench/*.py)
PAPER_RESULTS := $(wildcard results/paper-scale/*.csv results/paper-scale/*.json)
TABLE_RESULTS := $(wildcard results/tables/*.csv results/tables/*.json)
NALM_JOBS := $(wildcard results/tables/jobs/nalm/*.json)
TABLE_JOBS := $(wildcard results/tables/jobs/*/*.json results/tables/jobs/*/running/*.pt)

.PHONY: all setup test unit build book execute check check-browser bench paper paper-plan tables clean

all: build

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --no-compile -c constraints.txt $(if $(PIP_EXTRA_INDEX),--extra-index-url $(PIP_EXTRA_INDEX)) torch==2.13.0
	$(BIN)/python -m pip install -q --no-compile -c constraints.txt -e '.[book,test,scale]'
	# pip compiles the installed modules to bytecode one file at a time; compileall does it on every
	# core (a file that does not compile is reported and skipped, as pip does)
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > $(VENV)/compileall.log 2>&1 || true
	touch $@

# The suite runs three times: with this CPU's own kernels, then with torch's generic kernels (what a
# non-x86 or older CPU gets) and with its AVX2 ones, so a test that holds only on one CPU fails here.
# The second and third passes leave out four files that gain nothing from another level: the engine
# tests (grid, paper-scale runner, the engines themselves) compare the same computation in other
# processes, and the portability tests already run each kernel level in subprocesses of their own.
KERNEL_LEVELS := default avx2
LEVEL_SKIPS := --ignore=tests/test_grid.py --ignore=tests/test_scale.py --ignore=tests/test_portability.py --ignore=tests/test_workers.py
unit: $(STAMP)
	$(BIN)/python -m pytest
	for level in $(KERNEL_LEVELS); do echo "pytest with ATEN_CPU_CAPABILITY=$$level"; \
	  ATEN_CPU_CAPABILITY=$$level $(BIN)/python -m pytest -p no:cacheprovider $(LEVEL_SKIPS); done

# The chapters' kernels run with glibc's malloc keeping large freed blocks for reuse (mmap threshold
# 32 MB, trim threshold 256 MB: the values nalu_lab.workers.keep_freed_memory sets in the grid's worker
# processes; a unit test keeps the two equal), so a training step does not take its tensors' pages back
# from the kernel every time; the numbers are the same. The speed appendix runs with the allocator as
# it comes: it times both settings itself.
TUNED_MALLOC := MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456

# Execute one notebook: text form -> ipynb -> papermill -> finalised copy. A failing notebook
# leaves nothing behind (temporary files, .DELETE_ON_ERROR).
build/$(MODE)/%.ipynb: notebooks/%.py $(PKG_SRC) | $(STAMP)
	mkdir -p $(@D)
	$(BIN)/jupytext --quiet --to ipynb --set-kernel python3 $< -o $@.src.ipynb
	$(if $(filter A1_speed,$*),,env $(TUNED_MALLOC)) $(BIN)/papermill $@.src.ipynb $@.run.ipynb -k python3 --cwd notebooks \
	  -p quick $(QUICK_BOOL) -p device $(DEVICE) -p results_dir $(CURDIR)/build/$(MODE)/results $(if $(QUICK),,--progress-bar --log-output) \
	  || { rm -f $@.src.ipynb $@.run.ipynb; exit 1; }
	$(BIN)/python scripts/finalize_notebook.py $@.run.ipynb $@ --mode $(MODE)
	rm -f $@.src.ipynb $@.run.ipynb

# The speed appendix measures throughput, so it runs after the chapters, with nothing beside it;
# the conclusions read every other chapter's results (the appendix's too).
$(SPEED): $(filter-out $(SPEED) $(CONCLUSIONS),$(EXECUTED))
$(CONCLUSIONS): $(filter-out $(CONCLUSIONS),$(EXECUTED)) $(PAPER_RESULTS) $(TABLE_RESULTS)
# The paper-scale chapter and the small tables read the committed results of long runs (make paper,
# make tables), not a new run; the benchmark chapter's signed task is the NALM run's kept jobs.
build/$(MODE)/10_paper_scale.ipynb: $(PAPER_RESULTS)
build/$(MODE)/18_small_tables.ipynb: $(TABLE_RESULTS) $(TABLE_JOBS) $(PAPER_RESULTS)
# A chapter that reads its full-mode training back from results/chapters/ re-executes when those change.
$(foreach n,$(NAMES),$(eval build/$(MODE)/$(n).ipynb: $(wildcard results/chapters/$(n)-*.json)))
build/$(MODE)/09_benchmark.ipynb: $(NALM_JOBS)

# The intro's first screen: the headline results, generated from the executed results after the
# conclusions (scripts/intro_summary.py; nothing in it is typed).
$(SUMMARY): $(CONCLUSIONS) scripts/intro_summary.py
	mkdir -p $(@D)
	$(BIN)/python scripts/intro_summary.py build/$(MODE)/results --mode $(MODE) -o $@

# Execute the notebooks JOBS at a time (make's job server). In quick mode each notebook's output is
# printed in one piece when it ends; in full mode it streams (lines of parallel notebooks interleave).
execute: | $(STAMP)
	$(MAKE) --no-print-directory -j$(JOBS) $(if $(QUICK),--output-sync=target) $(EXECUTED) $(SUMMARY)

book: execute
	rm -rf book/chapters && mkdir -p book/chapters
	cp $(EXECUTED) book/chapters/
	mkdir -p book/_generated && cp $(SUMMARY) book/_generated/summary.md
	rm -rf book/_build
	$(BIN)/jupyter-book build book -W -n --keep-going
	@echo "Rendered ($(MODE) mode): book/_build/html/index.html"

build: book

check: $(STAMP)
	$(BIN)/python scripts/check_book.py book
	$(BIN)/python scripts/browser_check.py book/_build/html --screenshots .ci/screenshots

test: $(STAMP)
	$(MAKE) unit
	$(MAKE) book QUICK=1
	$(MAKE) check

bench: $(STAMP)
	$(BIN)/python -m nalu_bench.speed --device $(DEVICE)

# Madsen & Johansen's static table at the paper's scale (hours of CPU; resumable: run it again to
# continue). Choose with CELLS, SEEDS, STEPS; RAY_ADDRESS=host:port sends it to a Ray cluster.
CELLS ?= NAU→NMU:mul,NALU:mul
SEEDS ?= 0-24
STEPS ?= 3000000
paper: $(STAMP)
	$(BIN)/python -m nalu_lab.scale --cells '$(CELLS)' --seeds '$(SEEDS)' --steps $(STEPS) --device $(DEVICE) $(PAPER_ARGS)

# What is left of the plan (every cell the conclusions cite, at the budget that can decide it), in
# the plan's order, each cell at its own budget, one block per core; run it again to continue.
paper-plan: $(STAMP)
	$(BIN)/python -m nalu_lab.scale --plan --device $(DEVICE) $(PAPER_ARGS)

# The successors' small tables as long runs (TABLE=ten-parameter: Madsen & Johansen's Table 1;
# TABLE=gating: their gating experiment; TABLE=ranges: their sweep of the static × task over input
# ranges; TABLE=nalm: the NALM benchmark's nine ranges); each job is kept in results/tables/jobs/
# when it finishes, and the same command continues an unfinished run. A local Ray instance by default,
# RAY_ADDRESS=host:port a Ray cluster, TABLE_ARGS='--engine processes' a plain process pool.
TABLE ?= ten-parameter
tables: $(STAMP)
	$(BIN)/python -m nalu_lab.tables $(TABLE) $(TABLE_ARGS)

clean:
	rm -rf build book/_build book/chapters book/_generated .ci/screenshots
