# make setup | test | demo | demo-seeds | figures | readme-figures | bench   (each creates .venv first if needed)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: setup test demo demo-seeds figures readme-figures bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

test: setup
	$(VENV)/bin/pytest -q

demo: setup
	bash scripts/demo.sh

demo-seeds: setup
	bash scripts/demo_seeds.sh

# Figures into the runs folder (runs/demo/figures); readme-figures then copies their PNGs to docs/figures.
figures: setup
	bash scripts/figures.sh

readme-figures: figures
	bash scripts/readme_figures.sh

bench: setup
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache
