# One command per job: `make demo` (the main job on a built-in default) and `make test`.
# Every target installs what it needs; a second run is fast (stamp files).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck check bench clean system-deps

install: $(STAMP) system-deps

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Graphviz's `dot` is needed only for static images; install it when apt is there.
system-deps:
	@if ! command -v dot >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing graphviz with apt-get"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
	      || echo "warning: could not install graphviz; static images will be unavailable"; \
	  else echo "note: graphviz not found and apt-get unavailable; static images will be unavailable"; fi; \
	fi

demo: install
	$(VENV)/bin/torchscope demo

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: install
	$(VENV)/bin/mypy

test: install lint typecheck
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/summary_speed.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
