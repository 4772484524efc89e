# One command per job: `make demo` (the main job on a built-in default) and `make test`.
# Every target installs what it needs; a second run is fast (stamp files).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint typecheck check bench clean system-deps frontend

install: $(STAMP) system-deps frontend

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The viewer's and the dashboard's frontend (frontend/, npm lock file) bundled into the
# package's assets. Rebuilt when its sources or lock file change, or when a bundle is missing.
VIEWER_JS := src/torchscope/render/assets/viewer.js
DASHBOARD_JS := src/torchscope/web/assets/dashboard.js
REPORT_JS := src/torchscope/render/assets/report.js
FRONTEND_STAMP := frontend/.built
FRONTEND_SRC := $(wildcard frontend/src/*) $(wildcard frontend/src/*/*) frontend/build.mjs \
	frontend/package.json frontend/package-lock.json
frontend: $(FRONTEND_STAMP)
	@test -f $(VIEWER_JS) -a -f $(REPORT_JS) -a -f $(DASHBOARD_JS) || { rm -f $(FRONTEND_STAMP); $(MAKE) --no-print-directory $(FRONTEND_STAMP); }

$(FRONTEND_STAMP): $(FRONTEND_SRC)
	cd frontend && npm ci --no-audit --no-fund && npm run build
	touch $@

# System packages: Graphviz's `dot` (static images) and Debian's chromium (browser tests,
# HTML screenshots). Installed with apt when missing and apt is there.
system-deps:
	@missing=""; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing with apt-get"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || echo "warning: could not install$$missing"; \
	  else echo "note:$$missing missing and apt-get unavailable"; fi; \
	fi

demo: install
	$(VENV)/bin/torchscope demo

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: install
	$(VENV)/bin/mypy

# Everything CI runs: lint, types, every test (browser and slow ones too), the doctests and
# the frontend's pure functions under node --test.
test: install lint typecheck
	$(PY) -m pytest -q
	cd frontend && npm test --silent

# The inner loop: no browser or slow tests, stop at the first failure. CI runs `make test`.
test-fast: install
	$(PY) -m pytest -q -x -m "not browser and not slow"

# Speed/memory benchmarks against the competitors, each printing ratios. Every script in
# benchmarks/ runs with its defaults (see its --help); the GPU ones say so and exit 0
# without a GPU. Results go to benchmarks/RESULTS.md by hand, with machine and date.
BENCHMARKS := summary_speed summary_inprocess graph_static_speed viewer_speed \
	params_streaming spectral_vs_weightwatcher store_speed monitor_overhead \
	training_memory_gpu profile_gpt2 evaluate_speed report_size demo_time dashboard_speed
bench: install
	@echo "make bench runs $(words $(BENCHMARKS)) benchmarks one after another: it takes long"
	@echo "(several take minutes each; run on a quiet machine, or one alone: $(PY) benchmarks/NAME.py)"
	@for b in $(BENCHMARKS); do echo "== benchmarks/$$b.py"; $(PY) benchmarks/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
