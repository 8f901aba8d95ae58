# Chorus: `make run` starts the embedded shape, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.runtime-stamp
DEV_STAMP := $(VENV)/.dev-stamp
UV_VERSION := 0.13.9
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

# Compiled modules (.pyc) are cached only where Python may write them. Some machines set
# PYTHONDONTWRITEBYTECODE, and then every process compiles Django and the rest from source again:
# ~4 s of CPU per `chorus` process here (8 `chorus check` runs: 59 s of CPU without the cache,
# 27 s with it), and the suite starts hundreds of them. The cache lives in .venv and __pycache__/
# (git-ignored).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run setup dev-setup lock test-setup test test-fast test-scaled lint bench services system-packages messages clean help

help:
	@echo "make run     set up and start Chorus at http://127.0.0.1:8000 (SQLite, in-process worker + scheduler)"
	@echo "make test    set up and run the whole suite (unit, PostgreSQL + Celery, browser, lint)"
	@echo "make lint    ruff + mypy"
	@echo "make lock    regenerate requirements.lock + requirements-dev.lock (hashed) from pyproject.toml"
	@echo "make bench   every benchmark at quick size (FULL=1 for full size)"

# Two hashed locks (scripts/lock): `make run` installs the runtime one only, the tests add the dev one.
# The installer is uv (pinned, its hashes taken from the dev lock): the same hashed locks as pip,
# in a quarter of pip's time (23 s against 74 s for both locks on a cold cache here).
UV_PIP := $(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes

$(BIN)/uv:
	@test -n "$(PYTHON)" || { scripts/find-python; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@awk '/^uv==/{on=1} on&&/^[a-z]/&&!/^uv==/{on=0} on' requirements-dev.lock > $(VENV)/uv.lock
	$(BIN)/python -m pip install --quiet --require-hashes -r $(VENV)/uv.lock

$(STAMP): pyproject.toml requirements.lock $(BIN)/uv
	$(UV_PIP) -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	@touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(UV_PIP) -r requirements.lock -r requirements-dev.lock
	@touch $@

# Regenerate both locks from pyproject.toml (after adding a dependency, or merging a branch that
# did). Needs no installed lock: works while a lock holds hand-added `name==X` lines.
lock:
	@test -n "$(PYTHON)" || { scripts/find-python; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	scripts/lock $(BIN)/uv

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

src/chorus/locale/fr/LC_MESSAGES/django.mo: src/chorus/locale/fr/LC_MESSAGES/django.po $(STAMP)
	cd src/chorus && ../../$(BIN)/django-admin compilemessages --settings=chorus.settings -l fr >/dev/null

messages: $(STAMP)
	cd src/chorus && ../../$(BIN)/django-admin makemessages --settings=chorus.settings -l fr --no-obsolete

# Bluesky's own PDS + AppView for the peer tests (not needed by `make run`).
peers/bluesky/node_modules/.package-lock.json: peers/bluesky/package.json peers/bluesky/package-lock.json
	cd peers/bluesky && npm ci --no-audit --no-fund --loglevel=error

setup: $(STAMP) node_modules/.package-lock.json src/chorus/locale/fr/LC_MESSAGES/django.mo

dev-setup: setup $(DEV_STAMP)

test-setup: dev-setup system-packages services peers/bluesky/node_modules/.package-lock.json

run: setup
	$(BIN)/chorus run

# Debian packages the tests need, installed once, as root: Chromium (Playwright), WordPress with
# PHP's built-in server (the WordPress peer; no Apache), a C++ toolchain (better-sqlite3 in the
# Bluesky dev-env builds from source), ffmpeg (video probing).
APT_TEST_PACKAGES := chromium wordpress php php8.2-cgi php-cli php-mysql mini-httpd g++ make ffmpeg poppler-utils
system-packages:
	@missing=""; for p in $(APT_TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

# PostgreSQL and Redis for the scaled-shape tests: start them if they are down, never skip.
services:
	@scripts/ensure-services

lint: dev-setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Setup steps and lint run side by side. The Bluesky dev-env (`npm ci`, ~3 min: better-sqlite3
# builds from source) installs in the background while the suite starts; only the peer tests need
# it and their fixture waits for it (scripts/peers-setup-background, tests/peers/bluesky.py).
# The scaled pass starts after it has ended, so its own test-setup finds it done.
test:
	$(MAKE) --no-print-directory -j4 dev-setup system-packages services lint
	scripts/peers-setup-background
	$(BIN)/pytest -n 2 -p no:cacheprovider -m "not scaled_only"
	@while [ -e peers/bluesky/.setup-running ] && [ ! -e peers/bluesky/.setup-rc ] && \
		kill -0 "$$(cat peers/bluesky/.setup-running)" 2>/dev/null; do sleep 2; done
	$(MAKE) --no-print-directory test-scaled

# The scaled shape: what differs between shapes (marker `shapes`: engine, claims, tasks, quotas and
# their migration, row locks, database-specific SQL, peers; tests/conftest.py SHAPE_PATHS) again on
# PostgreSQL + a real Celery worker on Redis. The rest is plain ORM and views, run once above.
# Redis database 15, not 0: a task a test enqueues must never reach a developer's `chorus worker`
# (engine tests claim a database of their own among 1-14, see tests/engine_fixtures.py).
test-scaled: test-setup
	DATABASE_URL=$(PG_TEST_URL) CHORUS_TASK_BACKEND=celery REDIS_URL=$(REDIS_TEST_URL) \
		$(BIN)/pytest -n 2 -p no:cacheprovider -m "shapes and not browser"

test-fast: dev-setup
	$(BIN)/pytest -n 2 -m "not browser and not peer"

bench: dev-setup services
	$(BIN)/python -m bench $(if $(FULL),--full,--quick)

clean:
	rm -rf $(VENV) node_modules var/test
