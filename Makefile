# Two commands on a fresh machine: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= data

.PHONY: run serve test install browser-deps translations model index lint bench clean fuzz

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Browser tests: Debian's Chromium (we run as root; elsewhere the tests skip with the reason)
# and axe-core from npm, copied where the tests read it (build/ is git-ignored).
AXE := build/vendor/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(dir $(AXE))
	cp node_modules/axe-core/axe.min.js $(AXE)

browser-deps: $(AXE)
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) \
		|| echo "warning: could not install chromium; the browser tests will be skipped"

# Re-extract the UI strings and recompile the Finnish and English catalogs (web/translations).
translations: install
	mkdir -p build
	$(BIN)/pybabel extract -F web/babel.cfg -k _ -k gettext -k ngettext:1,2 -k add_link:2 --no-location --sort-output \
		-o build/messages.pot .
	$(BIN)/pybabel update -i build/messages.pot -d web/translations --width 120 --ignore-obsolete --no-fuzzy-matching
	$(BIN)/pybabel compile -d web/translations

model: install
	KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb model build

index: model
	KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb lint || true
	KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb index

lint: install
	$(BIN)/kb lint

# Set up, build the model and the index of the demo content, then serve both UIs on
# http://127.0.0.1:5000 (residents at /, handlers at /handlaggare/ after `kb user add`).
run: index
	KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb search "hur ställer jag mitt barn i kö till dagis" -k 1
	KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb demo seed --if-empty
	@echo "Create a handler account: KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb user add NAME --role handler"
	KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb serve --host 127.0.0.1 --port 5000

# Serve what is already built (no re-index).
serve: install
	KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb serve --host 127.0.0.1 --port 5000

# Set up and run the whole test suite (browser and accessibility tests included).
test: install browser-deps
	$(BIN)/python -m pytest -q

# Benchmarks (docs/benchmarks.md): quality on SweFAQ, SweQUAD-MC and tests/eval, then speed at 1 000,
# 10 000 and 100 000 synthetic articles with the peers (txtai, tantivy) from requirements-bench.txt.
# Long: hours on 2 cores. Nothing is fetched from a model hub; torch stays pinned to the CPU build
# (requirements.txt), which satisfies txtai, so pip never pulls a CUDA one.
BENCH_SIZES ?= 1000,10000,100000
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): requirements-bench.txt $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $(BENCH_STAMP)

# The hostile-input tests with 10x the cases of `make test` (hypothesis and schemathesis, fixed seed).
fuzz: install
	KB_FUZZ_SCALE=10 $(BIN)/python -m pytest -q tests/fuzz

bench: model $(BENCH_STAMP)
	HF_HUB_OFFLINE=1 KB_DATA_DIR=$(DATA_DIR) $(BIN)/python -m bench.run_quality
	HF_HUB_OFFLINE=1 KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb bench speed --articles $(BENCH_SIZES)

clean:
	rm -rf $(VENV) $(DATA_DIR) node_modules build

# Load and fault runs (minutes; loopback only): 30 clients for 60 s against gunicorn while the index is
# rebuilt twice and a broken file is committed, then 30 kill -9 build trials. Figures: docs/reliability.md.
.PHONY: soak
SOAK_ARGS ?= --duration 60 --clients 30 --kill-trials 30
soak: index
	$(BIN)/python -m bench.soak $(SOAK_ARGS)
