# cz_dagster: `make demo` runs the product on the sandbox; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := $(CURDIR)/.demo
CW_PORT ?= 8801
XERO_PORT ?= 8802
DAGSTER_PORT ?= 3000

.PHONY: venv demo test lint validate lock clean

$(BIN)/cz: pyproject.toml sandbox/pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e . -e ./sandbox
	@touch $@

venv: $(BIN)/cz

# The sandbox (both simulators, demo tenant registered), then `dagster dev` on 127.0.0.1 with SQLite storage.
demo: venv
	@mkdir -p $(DEMO_DIR)/dagster_home
	@cp dagster.yaml $(DEMO_DIR)/dagster_home/dagster.yaml
	@test -f $(DEMO_DIR)/secret.keys || $(BIN)/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" > $(DEMO_DIR)/secret.keys
	@chmod 600 $(DEMO_DIR)/secret.keys
	@echo "starting the sandbox (ConnectWise :$(CW_PORT), Xero :$(XERO_PORT)) and dagster dev on http://127.0.0.1:$(DAGSTER_PORT)"
	@export CZ_DATA_DIR=$(DEMO_DIR)/data CZ_SECRET_KEYS=$$(cat $(DEMO_DIR)/secret.keys) DAGSTER_HOME=$(DEMO_DIR)/dagster_home; \
	  $(BIN)/cz sandbox --cw-port $(CW_PORT) --xero-port $(XERO_PORT) & SANDBOX=$$!; \
	  trap "kill $$SANDBOX 2>/dev/null" EXIT INT TERM; \
	  for i in $$(seq 1 100); do $(BIN)/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$(XERO_PORT)/_sandbox/state')" 2>/dev/null && break; sleep 0.3; done; \
	  sleep 2; \
	  $(BIN)/dagster dev -h 127.0.0.1 -p $(DAGSTER_PORT) -w workspace.yaml

test: venv
	./deploy/ensure-chromium
	$(BIN)/ruff check cz_dagster sandbox tests benchmarks
	$(BIN)/dagster definitions validate -m cz_dagster.definitions
	$(BIN)/pytest -q -p no:cacheprovider -n 2 --dist loadfile

lint: venv
	$(BIN)/ruff check cz_dagster sandbox tests benchmarks

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11

clean:
	rm -rf $(VENV) $(DEMO_DIR)
