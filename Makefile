# Two commands do all set-up on a fresh machine:
#   make run   - the whole system (web + worker + beat) on http://127.0.0.1:8000
#   make test  - the whole test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export DJANGO_SETTINGS_MODULE ?= kglab.settings.local

TOOLS ?= .venv-tools
# Checks that need secrets only get throwaway values: they validate shape, not deployments.
COMPOSE_CHECK_ENV := DJANGO_SECRET_KEY=compose-config-check POSTGRES_PASSWORD=compose-config-check \
	RABBITMQ_PASSWORD=compose-config-check

.PHONY: run test setup venv services migrate admin lint format schema check-deploy bench-auth \
	containers-check dockerfile-check compose-check migrations-check

$(VENV)/.installed: requirements/base.txt requirements/dev.txt requirements/production.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	touch $@

venv: $(VENV)/.installed

services:
	bash scripts/ensure-services.sh

migrate: venv services
	$(PY) manage.py migrate --noinput

admin: migrate
	$(PY) manage.py ensure_admin

setup: admin

run: setup
	$(VENV)/bin/honcho start -f Procfile

# pytest-django prefers DJANGO_SETTINGS_MODULE from the environment over pytest.ini, and this
# Makefile exports the local settings: name the test settings explicitly.
# pytest's exit code 5 (nothing collected) is a failure too, not a silent pass.
test: venv services containers-check
	DJANGO_SETTINGS_MODULE=kglab.settings.test $(VENV)/bin/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: FAILED, pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

# The container definitions are checked on every test run; either failing fails `make test`.
containers-check: dockerfile-check compose-check

dockerfile-check: venv
	$(VENV)/bin/hadolint docker/Dockerfile

# docker-compose 1.29 validates a file against the Compose specification without a Docker
# engine. Its pins clash with ours (and its PyYAML 5.4 only builds with Cython < 3), so it
# lives in a virtualenv of its own.
$(TOOLS)/.installed:
	test -x $(TOOLS)/bin/python || python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --upgrade pip "cython<3" wheel setuptools
	$(TOOLS)/bin/pip install -q --no-build-isolation "pyyaml==5.4.1"
	$(TOOLS)/bin/pip install -q "docker-compose==1.29.2"
	touch $@

compose-check: $(TOOLS)/.installed
	$(COMPOSE_CHECK_ENV) $(TOOLS)/bin/docker-compose --env-file .env.example -f docker-compose.yml config -q

migrations-check: venv
	DJANGO_SETTINGS_MODULE=kglab.settings.test $(PY) manage.py makemigrations --check --dry-run

check-deploy: venv
	DJANGO_SETTINGS_MODULE=kglab.settings.production DJANGO_ALLOWED_HOSTS=kg.example.org \
	DJANGO_SECRET_KEY=$$($(PY) -c "import secrets; print(secrets.token_urlsafe(64))") \
	$(PY) manage.py check --deploy --fail-level WARNING

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

schema: venv
	DJANGO_SETTINGS_MODULE=kglab.settings.test $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
