# mrsynth: `make run` sets up and runs the demo job; `make test` sets up and runs the fast tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MRSYNTH := $(VENV)/bin/mrsynth
MAIN_SPEC ?= experiments/3t7t-masked.json
DEMO := data/demo

.PHONY: setup run demo families test test-slow test-all bench bench-tiny bench-gpu gpu-wheels lint ui constraints clean

setup: $(VENV)/.installed $(VENV)/.compiled

# torch==2.13.0 first: on this machine pip takes the local CPU wheel instead of a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# Compiled now, not on a user's first call: bytecode, and the QC loops ahead of time (numba's JIT cache where
# that cannot be built). Again whenever kernels.py changes.
$(VENV)/.compiled: $(VENV)/.installed src/mrsynth/qc/kernels.py
	$(PY) -m compileall -q src
	$(PY) -m mrsynth.qc.aot
	touch $@

demo: setup
	@test -f $(DEMO)/ground_truth.json || $(MRSYNTH) demo-data --out $(DEMO)

run: demo
	$(MRSYNTH) validate
	$(MRSYNTH) run $(MAIN_SPEC)

# The seeds' studies on the demo data, then the README's comparison tables (10-30 minutes on 2 CPU cores).
T2PD := t2pd-g1 t2pd-g2 t2pd-g3 t2pd-g4 t2pd-g4-3d pdt2-g4 pdt2-g4-residual
T1T2 := t1t2-pix2pix t1t2-nec t1t2-cyclegan
families: demo
	for spec in $(T2PD) $(T1T2); do $(MRSYNTH) run experiments/$$spec.json || exit 1; done
	$(MRSYNTH) compare --markdown $(T2PD)
	$(MRSYNTH) compare --markdown $(T1T2)

test: setup
	$(PY) -m pytest -m "not slow" -q

# pytest exits 5 when the marker selects no test: not a failure.
test-slow: setup
	$(PY) -m pytest -m slow -q; rc=$$?; [ $$rc -eq 5 ] || exit $$rc

test-all: setup
	$(PY) -m pytest -q

# The README's Performance figures (minutes); bench-tiny: each script at its smallest size, as CI runs them.
bench: setup
	$(PY) benchmarks/run.py

bench-tiny: setup
	$(PY) benchmarks/run.py --tiny

# On a GPU machine, from a plain checkout, with no venv and no network (README "GPU benchmark"):
# python3 with torch; pydantic comes from the wheels `make gpu-wheels` put in $(GPU_WHEELS).
bench-gpu:
	PYTHONPATH=src $(PYTHON) benchmarks/bench_gpu.py

# Here, with network: the wheels bench-gpu needs that such a python lacks (pydantic and its 4 dependencies,
# CPython 3.12, manylinux x86_64; 2.8 MB), into an ignored folder that travels with the checkout.
GPU_WHEELS := .gpu-wheels
gpu-wheels:
	$(PYTHON) -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 \
		--platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -c constraints.txt -d $(GPU_WHEELS) pydantic
	du -sh $(GPU_WHEELS)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(MRSYNTH) schema --check

ui: setup
	$(MRSYNTH) ui

constraints: setup
	{ echo "# Versions the test suite was run against (pip install -c constraints.txt). Regenerate with: make constraints"; \
	  $(PY) -m pip freeze --exclude-editable | grep -v -E '^(pip|setuptools)==' | sed 's/+cpu//'; } > constraints.txt

clean:
	rm -rf $(VENV) .cache .pytest_cache $(GPU_WHEELS) src/mrsynth/qc/_kernels_aot*.so
