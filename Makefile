# Two commands do all set-up on a fresh machine:
#   make run   - the whole system (web + worker + beat) on http://127.0.0.1:8000
#   make test  - the whole test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export DJANGO_SETTINGS_MODULE ?= kglab.settings.local

.PHONY: run test setup venv services migrate admin lint format schema check-deploy bench-auth

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

test: venv services
	$(VENV)/bin/pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

schema: venv
	DJANGO_SETTINGS_MODULE=kglab.settings.test $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
