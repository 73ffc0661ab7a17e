# make demo : set up .venv (pinned versions) and run the main job offline
# make test : set up .venv and run the test suite
#
# Each clone has its own .venv by default. VENV=/some/venv shares one venv
# between clones: it holds ONE editable install of xerm_mm, and every target
# re-points it (with a message) to the clone it runs in, so run the targets of
# one clone at a time (see docs/get_started.md).
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= work_dirs/demo
DEMO_PIPELINE ?= configs/pipelines/xerm_bbn-resnet32_1xb16-16e_digitslt-ib100.py
# Torch threads per tool process of the demo. On this shared 2-core machine
# (load 4) an XE step at batch 16 took 0.06 s with one thread and 0.14 to 5 s
# with two (threads spinning against other processes); on an idle machine
# DEMO_THREADS=2 may be faster.
DEMO_THREADS ?= 1
# One test worker per core and one more (pytest-xdist): the tests wait on
# their tool processes and polls, and a third worker on 2 cores fills that
# time (make test on a fresh clone, 2 cores: 407 s with 2 workers; 356 s
# with 3 and the file order re-measured; 4 no better). A test file per
# worker, handed out in the order of tests/conftest.py (the longest first).
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
PYTEST_ARGS ?= -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: setup demo test clean editable mim-link

# Python caches the bytecode of each module the first time a process imports
# it, even where the environment turns that off (PYTHONDONTWRITEBYTECODE=1,
# common in containers): each tool process would compile torch's modules
# again (import torch 2.7 s instead of 1.4 s of CPU). Compiling only what is
# imported, not all of the venv at install (uv --compile-bytecode): a fresh
# clone's set-up and test collection 38 -> 27 s on 2 cores.
unexport PYTHONDONTWRITEBYTECODE

# uv installs the same pinned set as pip, its wheels in parallel (torch with
# its nvidia-* wheels: 2.2x faster than pip on 2 cores); pip where uv cannot
# be installed or cannot reach an index.
$(VENV)/.installed: requirements/runtime.txt requirements/tests.txt setup.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q uv && $(VENV)/bin/uv pip install -q \
		--python $(PY) \
		-r requirements/runtime.txt -r requirements/tests.txt \
	|| $(PY) -m pip install -q -r requirements/runtime.txt -r requirements/tests.txt
	touch $@

# The editable install must point at this clone (a shared VENV may point at
# another one): reinstall it when it does not.
editable: $(VENV)/.installed
	@here="$$(realpath $(CURDIR)/xerm_mm)"; \
	there="$$(cd / && $(abspath $(PY)) -c 'import os, xerm_mm; print(os.path.dirname(os.path.realpath(xerm_mm.__file__)))' 2>/dev/null)"; \
	if [ -n "$$there" ] && [ "$$there" != "$$here" ]; then \
		echo "make: $(VENV) had xerm_mm from $$there; re-pointing it to $$here"; \
	fi; \
	if [ "$$there" != "$$here" ] || [ ! -e $(VENV)/.editable ] || [ setup.py -nt $(VENV)/.editable ]; then \
		$(PY) -m pip install -q --no-deps --no-build-isolation -e . && touch $(VENV)/.editable; \
	fi
	@$(MAKE) --no-print-directory mim-link VENV=$(VENV)

# mim (search / train / test) and mmengine.hub.get_config look for the package
# at site-packages/xerm_mm, which an editable install leaves empty: link it to
# this clone's package (pip uninstall removes the link, not the clone).
mim-link:
	@cd / && $(abspath $(PY)) $(CURDIR)/tools/misc/mim_link.py

setup: editable

demo: setup
	OMP_NUM_THREADS=$(DEMO_THREADS) $(PY) tools/run_pipeline.py $(DEMO_PIPELINE) --work-dir $(DEMO_DIR)

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

clean:
	rm -rf $(VENV) work_dirs xerm_mm.egg-info xerm_mm/.mim
