PYTHON ?= python

.PHONY: test lint e2e bench bench-sessions bench-relay

test:
	$(PYTHON) -m pytest -m "not e2e"

lint:
	$(PYTHON) -m ruff check src tests bench

e2e:
	$(PYTHON) -m pytest tests/e2e

# The session store (BENCH_SESSIONS sessions, default 100,000), then the token relay.
bench: bench-sessions bench-relay

bench-sessions:
	$(PYTHON) bench/run.py

bench-relay:
	$(PYTHON) bench/relay.py
