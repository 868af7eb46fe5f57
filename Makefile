# Two commands on a fresh machine: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= data

.PHONY: run test install model index lint bench clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

model: install
	KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb model build

index: model
	KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb lint || true
	KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb index

lint: install
	$(BIN)/kb lint

# Set up, build the model and the index of the demo content, then answer questions.
run: index
	@echo "Index built. Try: $(BIN)/kb search 'hur ställer jag mitt barn i kö till dagis'"
	KB_DATA_DIR=$(DATA_DIR) $(BIN)/kb search "hur ställer jag mitt barn i kö till dagis"

# Set up and run the whole test suite.
test: install
	$(BIN)/python -m pytest -q

bench: model
	$(BIN)/python -m bench.run_quality

clean:
	rm -rf $(VENV) $(DATA_DIR)
