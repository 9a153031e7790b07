# One command per concern; CI runs the same targets a person does.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
SYNCED := $(VENV)/.synced
# The published table, and invented case figures for 2020 (the published table has none).
TARGETS := --targets reference/kerncijfers_utrecht_2017_2020.csv --targets reference/zaken_illustratief.csv
RAW := $(or $(PIPELINE_RAW_DIR),data/raw)
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: setup run test test-fast lint bench bench-large clean bi-check docs

setup: $(SYNCED)

# Compiled once here: where PYTHONDONTWRITEBYTECODE is set (containers, CI), every process would
# otherwise compile Prefect, Polars' Python and ours from source again (importing the pipeline took
# 3.4 s so, 1.5 s compiled, in every run and in every reading worker).
$(SYNCED): pyproject.toml uv.lock Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@$(BIN)/uv sync --frozen --inexact --quiet --compile-bytecode
	@$(BIN)/python -m compileall -q src schemas flows > /dev/null
	@touch $@

# Generates the sample deliveries of the published table once, rebuilds, prints the table.
run: setup
	@test -e $(RAW)/README.txt || $(BIN)/pipeline generate $(TARGETS) --out $(RAW)
	@$(BIN)/pipeline backfill --raw $(RAW)
	@$(BIN)/pipeline report

# One file per worker at a time (--dist loadfile): a module's fixture (a generated year, a published
# warehouse, a Prefect server) is then built once, not once on each worker. The files start in the
# order tests/conftest.py collects them, the longest first (--no-loadscope-reorder).
test: setup
	@$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -q

# The tests that take seconds: everything but the `slow` and `external` ones (markers in pyproject.toml).
test-fast: setup
	@$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -q -m "not slow and not external"

lint: setup
	@$(BIN)/ruff check src schemas flows tests bench bi
	@$(BIN)/ruff format --check src schemas flows tests bench bi
	@$(BIN)/mypy
	@$(BIN)/lint-imports
	@$(BIN)/vulture

# The example report of docs/ from make run's sample (the published 2017-2020 figures), and its picture
# from headless Chromium (Debian's chromium; the flags keep it off the network), cropped to the page.
CHROMIUM ?= chromium
CHROMIUM_FLAGS := --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
	--disable-component-update --disable-sync --hide-scrollbars "--host-resolver-rules=MAP * ~NOTFOUND"
CROP := from PIL import Image, ImageChops; p = "docs/report.png"; im = Image.open(p).convert("RGB"); \
	edge = Image.new("RGB", im.size, im.getpixel((im.width - 1, im.height - 1))); \
	bottom = ImageChops.difference(im, edge).getbbox()[3]; im.crop((0, 0, im.width, min(im.height, bottom + 40))).save(p)

docs: run
	@command -v $(CHROMIUM) > /dev/null || { echo "make docs: needs Chromium (apt-get install chromium)"; exit 1; }
	@$(BIN)/pipeline report --format html --out docs/report.html
	@profile=$$(mktemp -d) && $(CHROMIUM) $(CHROMIUM_FLAGS) --user-data-dir=$$profile --window-size=1000,8000 \
		--screenshot=docs/report.png file://$(CURDIR)/docs/report.html > /dev/null 2>&1; ok=$$?; rm -rf $$profile; exit $$ok
	@$(BIN)/python -c '$(CROP)'
	@echo "docs/report.html, docs/report.png: the report of make run's sample"

# The pipeline beside a plain Polars floor and a pandas peer; writes BENCHMARKS.md (bench/__main__.py).
bench: setup
	@$(BIN)/python -m bench $(BENCH_ARGS)

# The same with the 50 M-row backfill (some 7 GB of generated deliveries in the cache).
bench-large: setup
	@$(BIN)/python -m bench --large $(BENCH_ARGS)

# Apache Superset reads a freshly built sample warehouse through its REST API (bi/superset/check.py).
# Superset comes from its own environment, pinned with hashes outside the project's lock; not in `make test`.
BI_VENV := $(VENV)/bi-superset
$(BI_VENV)/.synced: bi/superset/requirements.txt | $(SYNCED)
	@rm -rf $(BI_VENV)
	@$(BIN)/uv venv --quiet --python $(PYTHON) $(BI_VENV)
	@$(BIN)/uv pip install --quiet --python $(BI_VENV)/bin/python --require-hashes -r bi/superset/requirements.txt
	@touch $@

bi-check: setup $(BI_VENV)/.synced
	@$(BIN)/python bi/superset/check.py --superset $(BI_VENV)/bin/superset $(BI_CHECK_ARGS)

# Everything generated; warehouse/README.md stays.
clean:
	rm -rf $(VENV) data .make
	find warehouse -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
