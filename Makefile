# Two commands (see README):
#   make course   install into .venv and open the course in JupyterLab (embedded default model, offline)
#   make test     install into .venv and run every test: the library's tests and every notebook under nbval
#   make slides   build the talk's deck (slides/deck.md) into slides/build/index.html, figures drawn by lateint
PYTHON ?= python3
VENV   ?= .venv
# torch is installed first and pinned: an unpinned torch pulls a multi-GB CUDA build.
# Users without a GPU can add the CPU wheel index: make course TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH  ?= torch==2.13.0
TORCH_INDEX ?=
PY      = $(VENV)/bin/python
# the course's JupyterLab settings (jupyterlab/README.md), read from the environment's app settings folder
LAB_SETTINGS = $(VENV)/share/jupyter/lab/settings

.PHONY: install course test slides
$(PY):
	$(PYTHON) -m venv $(VENV)

install: $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH) $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e ".[test]"
	mkdir -p $(LAB_SETTINGS) && cp jupyterlab/overrides.json $(LAB_SETTINGS)/overrides.json

course: install
	$(VENV)/bin/jupyter lab notebooks/00_setup.ipynb $(if $(filter 0,$(shell id -u)),--allow-root)

test: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest tests $(wildcard notebooks/*.ipynb notebooks/*/*.ipynb) --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -q

slides: install
	HF_HUB_OFFLINE=1 $(PY) slides/build.py
