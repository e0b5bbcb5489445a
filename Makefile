# Two commands (see README):
#   make course   install into .venv and open the course in JupyterLab (embedded default model, offline)
#   make test     install into .venv and run every test: the library's tests and every notebook under nbval,
#                 then the notebooks again in the portability pass (another CPU kernel and thread count)
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

.PHONY: install course test slides site
$(PY):
	$(PYTHON) -m venv $(VENV)

install: $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH) $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e ".[course,test]"
	mkdir -p $(LAB_SETTINGS) && cp jupyterlab/overrides.json $(LAB_SETTINGS)/overrides.json

course: install
	$(VENV)/bin/jupyter lab notebooks/00_setup.ipynb $(if $(filter 0,$(shell id -u)),--allow-root)

NOTEBOOKS = $(wildcard notebooks/*.ipynb notebooks/*/*.ipynb)
NBVAL     = --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg
# Each pass starts from an empty embedding cache of its own, so every notebook really encodes.
TESTCACHE = $(CURDIR)/.cache/test
# The portability pass: torch's plain (not vectorised) kernels, MKL's reproducible mode and one thread
# change the last bits of sums, norms and matrix products, as another CPU would; every notebook
# must still match its committed outputs (see notebooks/README.md).
ONETHREAD = OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PORTABLE  = ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE $(ONETHREAD)
# The library's tests and the portability pass run in JOBS pytest-xdist workers of one thread each (a test
# module or a notebook stays on one worker, its cells in order: --dist loadscope, as nbval asks);
# the normal notebook pass runs them one at a time with torch's default threads, as a learner does.
JOBS     ?= 2
PARALLEL  = -n $(JOBS) --dist loadscope

test: install
	rm -rf $(TESTCACHE)
	HF_HUB_OFFLINE=1 LATEINT_CACHE=$(TESTCACHE)/default $(ONETHREAD) $(PY) -m pytest tests -q $(PARALLEL)
	HF_HUB_OFFLINE=1 LATEINT_CACHE=$(TESTCACHE)/default $(PY) -m pytest $(NOTEBOOKS) $(NBVAL) -q
	@echo "--- portability pass: the notebooks again under another CPU kernel and thread count"
	HF_HUB_OFFLINE=1 LATEINT_CACHE=$(TESTCACHE)/portable $(PORTABLE) $(PY) -m pytest $(NOTEBOOKS) $(NBVAL) -q -p no:cacheprovider $(PARALLEL)
	rm -rf $(TESTCACHE)

slides: install
	HF_HUB_OFFLINE=1 $(PY) slides/build.py

# the lessons as they were saved (nothing is executed), the exercises, the benchmarks and the deck
site: install
	HF_HUB_OFFLINE=1 $(PY) website/build.py $(if $(SOLUTIONS),--solutions)
