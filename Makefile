# Everything a fresh clone needs: `make demo` and `make test` build the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-scale bench compat compat-quick lint emulator dist clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The tiers without a deployment spread over every core; the deployments run one after another,
# alone on the machine, as their fault timing needs.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n auto -m "not deployment and not scale"
	$(BIN)/python -m pytest -q -m "deployment or scale"

# The scale tier at full size (make test runs it with 40 prompts): a CeleryExecutor cluster on
# PostgreSQL and Redis, 200 prompts in the load run, 50 waits deferred when a triggerer is killed.
test-scale: $(STAMP)
	NANOBANANA_SCALE_PROMPTS=200 $(BIN)/python -m pytest -q -s -m scale tests/deployment/scale

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# Every Airflow line the package claims, each in its own fresh venv under .compat/ (see scripts/compat.py):
# install, providers list, imports, DAG parsing, the example pipeline by dag.test(), then the test suite.
compat: $(STAMP)
	$(BIN)/python scripts/compat.py

# The same checks without the test suite (about 5 minutes): CI runs it after make test.
compat-quick: $(STAMP)
	$(BIN)/python scripts/compat.py --quick

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

emulator: $(STAMP)
	$(BIN)/nanobanana-emulator --s3

# The wheel and sdist to install where Airflow runs (pip install dist/*.whl), until it is on PyPI.
DIST ?= dist
dist: $(STAMP)
	$(BIN)/uv build --sdist --wheel --out-dir $(DIST) .

clean:
	rm -rf $(VENV) .compat compat-results.json demo-output bench-results dist .pytest_cache .ruff_cache
