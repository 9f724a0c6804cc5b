# Two commands: `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test bench soak backup restore lint format messages services stop-services clean

run: $(INSTALLED)
	$(PY) -m qms_portal.launcher run

# Two pytest-xdist processes: most of the suite's time is spent waiting on real workers, servers
# and browsers, so a second process keeps the two cores busy. Tests that share one resource
# outside their own database and Redis database carry the same xdist_group and run in one process.
TEST_PROCESSES ?= 2
test: $(INSTALLED)
	$(PY) -m qms_portal.launcher test -n $(TEST_PROCESSES) --dist loadgroup $(PYTEST_ARGS)

# Benchmarks (tests/bench/README.md): SIZE=S quick smoke, M (default, under 15 minutes), L full figures.
SIZE ?= M
bench: $(INSTALLED)
	BENCH_SIZE=$(SIZE) $(PY) -m qms_portal.launcher test -c tests/bench/pytest.ini tests/bench $(PYTEST_ARGS)

# Load and faults (tests/soak): 50 customers for 5 minutes through two outages; under 30 minutes.
soak: $(INSTALLED)
	$(PY) -m qms_portal.launcher test -c tests/soak/pytest.ini tests/soak $(PYTEST_ARGS)

# Backup drill (README "Backup and restore"): make backup (encrypted to BACKUP_RECIPIENTS), then
# make restore BACKUP=var/backups/<time> with BACKUP_IDENTITY_FILE set.
backup: $(INSTALLED)
	$(PY) -m qms_portal.launcher manage backup $(ARGS)

restore: $(INSTALLED)
	test -n "$(BACKUP)" || (echo "BACKUP_IDENTITY_FILE=<age identity> make restore BACKUP=<folder written by make backup> [ARGS=--into <owner's url>]" && false)
	$(PY) -m qms_portal.launcher manage restore $(BACKUP) $(ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Refresh the German catalogue after changing user-facing text, translate, then commit both files.
messages: $(INSTALLED)
	DJANGO_SETTINGS_MODULE=qms_portal.settings.local $(PY) manage.py makemessages -l de --ignore=.venv --ignore=var --ignore=staticfiles --ignore=tests
	DJANGO_SETTINGS_MODULE=qms_portal.settings.local $(PY) manage.py compilemessages --ignore=.venv

services: $(INSTALLED)
	$(PY) -m qms_portal.launcher services

stop-services: $(INSTALLED)
	$(PY) -m qms_portal.embedded stop

$(INSTALLED): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
