# The two commands: `make demo` runs the whole product, `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# pytest-xdist workers of `make test` (each its own test database and Redis database).
TEST_WORKERS ?= 2

.PHONY: demo test bench lint format lock clean-var

$(INSTALLED): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[dev]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	CDP_MODE=$${CDP_MODE:-demo} $(BIN)/python manage.py up $(ARGS)

test: $(INSTALLED)
	bash scripts/ensure-chromium
	bash scripts/ensure-node-modules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m cdp_site.dev.devservices -- $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: $(INSTALLED)
	$(BIN)/python -m cdp_site.dev.devservices --durable -- $(BIN)/python -m bench $(ARGS)

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Pins every installed package so that installs are repeatable.
lock: $(INSTALLED)
	$(BIN)/python -m pip freeze --exclude-editable --all | grep -vE '^(pip|setuptools|wheel)==' > requirements/constraints.txt

clean-var:
	rm -rf var/test
