# The development environment of the README's test command when it exists, else the python3 on PATH.
DEV_VENV := .venv-dev
PYTHON ?= $(if $(wildcard $(DEV_VENV)/bin/python),$(DEV_VENV)/bin/python,python3)

.PHONY: test lint e2e bench bench-sessions bench-open bench-branches bench-relay bench-startup bench-kill \
	bench-import bench-schedules bench-load bench-load-sqlite bench-load-cluster bench-gc bench-model-request

test:
	$(PYTHON) -m pytest -m "not e2e"

lint:
	$(PYTHON) -m ruff check src tests bench
	$(PYTHON) -m mypy

e2e:
	$(PYTHON) -m pytest tests/e2e

# The session store (BENCH_SESSIONS sessions, default 100,000), opening a long session (side by side with
# the previous revision), versions, the token relay, start-up (at 0, 10k and 100k sessions), kill and
# resume, `threadline import hermes` at 1k, 4k and 10k sessions (BENCH_IMPORT_100K=1 adds 100k), the
# scheduler (a wake-up with 10,000 tasks, how late firings start), the CPU of one model request by
# conversation size, then 200 streams under load (one instance on SQLite; two on PostgreSQL + Redis).
bench: bench-sessions bench-open bench-branches bench-relay bench-startup bench-kill bench-import bench-schedules \
	bench-model-request bench-load

bench-sessions:
	$(PYTHON) bench/run.py

# Opening a 2,000-message session (full, window of 300, last 30) beside the previous revision, at
# BENCH_SESSIONS sessions (default 10,000).
bench-open:
	$(PYTHON) bench/open_session.py

# A page, an append and the model's context with 200 other versions in the tree, against none.
bench-branches:
	$(PYTHON) bench/branches.py

bench-relay:
	$(PYTHON) bench/relay.py

bench-startup:
	$(PYTHON) bench/startup.py

# SIGKILL mid-stream, restart, resume (BENCH_KILL_TRIALS trials, default 100).
bench-kill:
	$(PYTHON) bench/kill.py --trials $(or $(BENCH_KILL_TRIALS),100)

bench-import:
	$(PYTHON) bench/import_hermes.py

bench-schedules:
	$(PYTHON) bench/schedules.py

bench-load: bench-load-sqlite bench-load-cluster

bench-load-sqlite:
	$(PYTHON) bench/load.py --setup sqlite

# Needs PostgreSQL (BENCH_PG_URL, default postgres@127.0.0.1:5432/test) and Redis (BENCH_REDIS_URL).
bench-load-cluster:
	$(PYTHON) bench/load.py --setup postgres --instances 2

# Garbage-collection pauses under load, CPython's defaults against threadline.gcpolicy.
bench-gc:
	$(PYTHON) bench/gcpauses.py

bench-model-request:
	$(PYTHON) bench/model_request.py

# The suite on PostgreSQL (a fresh database per test, cloned from a migrated template); needs a server.
TEST_PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
.PHONY: test-pg
test-pg:
	THREADLINE_TEST_DATABASE_URL=$(TEST_PG_URL) $(PYTHON) -m pytest -m "not e2e and not backend_independent and not once"
