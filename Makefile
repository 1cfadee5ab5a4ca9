# Goldbean developer tasks.  `make test` is the test command (CI runs it via .ci/run).
#
#   make venv       create .venv (if missing), install -e .[postgres,test], compile the
#                   message catalogues (api/translations/*/LC_MESSAGES/*.mo)
#   make run        serve the API with the demo community (sqlite database under var/)
#   make test       run pytest; pass extra options with PYTEST_ARGS="-k foo -x"
#   make system-packages  install the Debian packages the browser and PDF tests use (as root)
#   make lint       ruff check + mypy (ledger/, projections/, api/, merchant_pos/)
#   make messages   re-extract the pages' text into api/translations (then translate)
#   make audit      known vulnerabilities of the installed dependencies (pip-audit; CI runs it)
#   make bench      run bench/ledger_bench.py
#   make clean      remove var/ and caches (keeps .venv)
#   make distclean  clean + remove .venv

PYTHON ?= python3
VENV   ?= .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
SERVE_ARGS ?=

.PHONY: venv run test system-packages lint messages audit bench clean distclean

venv: $(STAMP)

# Create the virtualenv only if it does not exist yet.
$(VPY):
	$(PYTHON) -m venv $(VENV)

# (Re)install only when the packaging files are newer than the stamp.
$(STAMP): setup.cfg pyproject.toml | $(VPY)
	$(VPY) -m pip install --disable-pip-version-check -q -e '.[postgres,test]'
	$(VENV)/bin/pybabel compile -d api/translations
	@touch $(STAMP)

run: venv
	@mkdir -p var
	GOLDBEAN_DEMO=1 $(VENV)/bin/goldbean serve $(SERVE_ARGS)

test: venv
	@echo "==> $$($(VPY) --version) ($(VPY)), pytest $(PYTEST_ARGS)"
	@echo "==> CI=$${CI:-unset}; the PostgreSQL used is shown in the 'postgresql:' header line (tests/pg.py)"
	$(VPY) -m pytest $(PYTEST_ARGS)

system-packages:
	bash .ci/system-packages

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# after changing the pages' text: re-extract it and add the new messages to each catalogue
messages: venv
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-by-file -o api/translations/messages.pot .
	$(VENV)/bin/pybabel update --no-fuzzy-matching -i api/translations/messages.pot -d api/translations

audit: venv
	$(VPY) tools/dependency_audit.py

bench: venv
	$(VPY) bench/ledger_bench.py

clean:
	rm -rf var/ build/ dist/ *.egg-info .pytest_cache .hypothesis .mypy_cache .ruff_cache \
	       .coverage htmlcov bench/out
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
