# Two commands (see README):
#   make course   install into .venv and open the course in JupyterLab (embedded default model, offline)
#   make test     install into .venv and run every test: the library's tests and every notebook under nbval,
#                 then the notebooks again in the portability pass (another CPU kernel and thread count)
#   make test-fast  the library's tests that take seconds (no `slow` or `browser` marker), for the edit-test loop
#   make slides   build the talk's deck (slides/deck.md) into slides/build/index.html, figures drawn by lateint
#   make site     build the course site (website/build/index.html) from the committed notebooks, offline;
#                 make site SOLUTIONS=1 adds the exercises' worked solutions (for instructors)
PYTHON ?= python3
VENV   ?= .venv
# torch is installed first and pinned: an unpinned torch pulls a multi-GB CUDA build.
# Users without a GPU can add the CPU wheel index: make course TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH  ?= torch==2.13.0
TORCH_INDEX ?=
PY      = $(VENV)/bin/python
# the course's JupyterLab settings (jupyterlab/README.md), read from the environment's app settings folder
LAB_SETTINGS = $(VENV)/share/jupyter/lab/settings

# Installs pin every package to the versions the tests passed with (constraints.txt: notebook outputs are
# compared digit by digit); pyproject.toml keeps loose bounds for users who install lateint into their own
# environment. `make course CONSTRAINTS=` installs without the pins. Each install is redone only when
# pyproject.toml or constraints.txt change (the stamp files in .venv).
CONSTRAINTS ?= constraints.txt
PIP      = $(PY) -m pip install -q $(if $(CONSTRAINTS),-c $(CONSTRAINTS))

.PHONY: install course test test-fast slides site
$(PY):
	$(PYTHON) -m venv $(VENV)

# what a learner needs: the course, JupyterLab, Qdrant (lesson 08) and the audit's HTML/PDF readers (lesson 09)
$(VENV)/.course: pyproject.toml $(CONSTRAINTS) | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PIP) $(TORCH) $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(PIP) -e ".[course,qdrant,audit]"
	mkdir -p $(LAB_SETTINGS) && cp jupyterlab/overrides.json $(LAB_SETTINGS)/overrides.json
	touch $@

# and the test tools
$(VENV)/.test: $(VENV)/.course
	$(PIP) -e ".[course,test]"
	touch $@

install: $(VENV)/.course

course: $(VENV)/.course
	$(VENV)/bin/jupyter lab notebooks/00_setup.ipynb $(if $(filter 0,$(shell id -u)),--allow-root)

NOTEBOOKS = $(wildcard notebooks/*.ipynb notebooks/*/*.ipynb)
NBVAL     = --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg
# Each pass starts from an empty embedding cache of its own, so every notebook really encodes.
TESTCACHE = $(CURDIR)/.cache/test
# The library's tests and the first notebook pass run as one pytest session, so that neither waits for the
# other's last file while a core idles; the portability pass follows. Each runs in JOBS pytest-xdist workers
# (a test file or a notebook stays on one worker, a notebook's cells in order: --dist loadscope, as nbval
# asks), the longest files first (conftest.py: --no-loadscope-reorder keeps that order). The normal pass: this
# CPU's own kernels, one thread per worker. The
# portability pass: another CPU's kernels and two threads per worker change the last bits of sums, norms and
# matrix products, as another CPU and thread count would; every notebook must still match its committed
# outputs (see notebooks/README.md). Threads wait passively, so two workers of two threads share two cores
# without spinning; the thread count changes how sums are split, not the speed.
# Which other CPU: on a CPU with AVX-512 the pass computes what an AVX2-only CPU does (torch's AVX2 kernels,
# MKL's AVX2 code path), so the Intel day checks the AMD day's arithmetic; on an AVX2-only CPU, torch's plain
# (not vectorised) kernels, and MKL keeps its own path, since its only other one is the SSE-level path
# (MKL_CBWR=COMPATIBLE), 4.6x slower, which doubled the pass's time. PORTABLE_ATEN= and PORTABLE_MKL= override.
# (The ratios: benchmarks/mkl_paths.py, figures in benchmarks/README.md.)
ONETHREAD = OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
AVX512    := $(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo y)
PORTABLE_ATEN ?= $(if $(AVX512),avx2,default)
PORTABLE_MKL  ?= $(if $(AVX512),AVX2)
PORTABLE  = ATEN_CPU_CAPABILITY=$(PORTABLE_ATEN) $(if $(PORTABLE_MKL),MKL_CBWR=$(PORTABLE_MKL)) OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE
JOBS     ?= 2
PARALLEL  = -n $(JOBS) --dist loadscope --no-loadscope-reorder
# The fast tier: everything without a `slow` or `browser` marker (pyproject.toml lists the markers).
FAST      = -m "not slow and not browser"
STAGE     = echo "--- $$(date +%T)"

test: $(VENV)/.test
	rm -rf $(TESTCACHE)
	@$(STAGE) "library tests and notebooks, this CPU's kernels"
	HF_HUB_OFFLINE=1 LATEINT_CACHE=$(TESTCACHE)/default $(ONETHREAD) $(PY) -m pytest tests $(NOTEBOOKS) $(NBVAL) -q $(PARALLEL) --durations=20
	@$(STAGE) "portability pass: the notebooks again under another CPU kernel and thread count"
	HF_HUB_OFFLINE=1 LATEINT_CACHE=$(TESTCACHE)/portable $(PORTABLE) $(PY) -m pytest $(NOTEBOOKS) $(NBVAL) -q -p no:cacheprovider $(PARALLEL) --durations=10
	@$(STAGE) "done"
	rm -rf $(TESTCACHE)

test-fast: $(VENV)/.test
	HF_HUB_OFFLINE=1 LATEINT_CACHE=$(TESTCACHE)/fast $(ONETHREAD) $(PY) -m pytest tests -q $(PARALLEL) $(FAST)

slides: $(VENV)/.course
	HF_HUB_OFFLINE=1 $(PY) slides/build.py

# the lessons as they were saved (nothing is executed), the exercises, the benchmarks and the deck
site: $(VENV)/.test
	HF_HUB_OFFLINE=1 $(PY) website/build.py $(if $(SOLUTIONS),--solutions)
