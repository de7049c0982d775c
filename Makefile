# The two set-up commands of the README: `make run` and `make test`. Everything a fresh clone
# needs is installed from here; the machine needs python3, make and npm (and apt-get for the browser).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run prod test lint typecheck unit browser vendor screenshots bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

## run: install into .venv and start the embedded platform with the demo park
run: $(VENV)/.installed vendor
	$(BIN)/sharefab serve --demo --host $(HOST) --port $(PORT)

## prod: the production shape on this machine (2 API, 2 ingest, 2 matcher processes) against
## the PostgreSQL, Redis and Mosquitto of deploy/prod.env; Ctrl-C stops them all
prod: $(VENV)/.installed
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/honcho -e deploy/prod.env -f Procfile start -c api=1,ingest=2,match=2

## test: install with dev extras and the browser, then ruff, mypy and the whole pytest suite
test: $(VENV)/.installed-dev browser vendor lint typecheck unit

## browser: Debian's chromium for the real-browser tests of tests/web (Playwright drives it;
## `playwright install` is never run). Installing it needs root (or sudo).
## The fonts: zh-CN pages need a CJK font, or chromium draws boxes (fonts-noto-cjk).
browser:
	@(command -v chromium >/dev/null && [ -d /usr/share/fonts/opentype/noto ]) || ( \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y -q chromium fonts-noto-cjk; \
	  else sudo apt-get update && sudo apt-get install -y -q chromium fonts-noto-cjk; fi )

## vendor: ECharts 6 for the web app's charts, from the npm registry at install time (the
## pages never load a CDN); services/web/static/vendor/ is git-ignored
VENDOR := services/web/static/vendor
vendor: $(VENDOR)/echarts.min.js

$(VENDOR)/echarts.min.js:
	@mkdir -p $(VENDOR)
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent echarts@6 >/dev/null && \
	  tar -xzf echarts-*.tgz package/dist/echarts.min.js package/LICENSE) && \
	  cp $$tmp/package/LICENSE $(VENDOR)/echarts.LICENSE && \
	  cp $$tmp/package/dist/echarts.min.js $@; status=$$?; rm -rf $$tmp; exit $$status

## screenshots: regenerate docs/screenshots/<page>-<lang>.png by running the browser tests
screenshots: $(VENV)/.installed-dev browser vendor
	SHAREFAB_SCREENSHOTS=1 $(BIN)/pytest -q tests/web

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy domain scheduling matching connectors services simulations cli bench

## unit: the suite on TEST_WORKERS workers side by side (most tests wait on servers, so more
## workers than cores pay); the tests that must not overlap (tests/serial.py: fault timing, the
## shared Mosquitto's users) run one after another on one of them. Plain `pytest` runs it all
## in one process.
TEST_WORKERS ?= 4
unit: $(VENV)/.installed-dev
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

## bench: run the benchmarks and rewrite BENCHMARKS.md (hours on 2 cores: the market simulation
## alone is 5 seeds x 3 policies of 5,000 orders; `python -m bench.run_all --only NAME` runs one)
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache var
