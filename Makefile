# make demo : set up .venv (pinned versions) and run the main job offline
# make test : set up .venv and run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= work_dirs/demo
DEMO_PIPELINE ?= configs/pipelines/xerm_bbn-resnet32_1xb64-30e_digitslt-ib10.py

.PHONY: setup demo test clean

$(VENV)/.installed: requirements/runtime.txt requirements/tests.txt setup.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements/runtime.txt -r requirements/tests.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) tools/run_pipeline.py $(DEMO_PIPELINE) --work-dir $(DEMO_DIR)

test: setup
	$(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) work_dirs xerm_mm.egg-info xerm_mm/.mim
