# Two commands matter: `make run` (the embedded demo) and `make test` (the whole suite).
# Each installs what it needs into .venv from the pinned lock files under requirements/.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test lint format bench lock install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements/run.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/run.txt
	touch $@

$(VENV)/.installed-dev: requirements/dev.txt node_modules/.package-lock.json | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@ $(VENV)/.installed-run

# Test-only JavaScript from the npm registry (axe-core for the accessibility checks), pinned by
# package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

# honcho gives each process its own PORT (web, web + 100, ...): the site URL is set once here,
# so the links the worker mails lead to the web server.
run: install
	$(BIN)/python manage.py migrate --noinput
	SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/python manage.py seed_demo
	SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/honcho --procfile Procfile.demo start

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# The stubs' plugin loads the settings: type-check against the embedded default, not production.
	env -u DATABASE_URL -u REDIS_URL $(BIN)/mypy .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The HTTP benchmarks (bench_decision, bench_front_page) drive the server with wrk; without it
# they say how to install it and are skipped.
bench: install-dev
	@command -v wrk >/dev/null || echo "note: wrk is not installed; the HTTP benchmarks will be skipped (Debian or Ubuntu: apt-get install -y wrk; macOS: brew install wrk)"
	$(BIN)/python -m bench

# Re-resolve the pinned versions after editing pyproject.toml (needs uv, installed on demand).
lock: | $(BIN)/python
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile --quiet pyproject.toml -o requirements/run.txt
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev -o requirements/dev.txt

clean:
	rm -rf $(VENV) var node_modules
