"""A cold start loads only what the first page needs (issue 11 item 3); timings are in bench/startup.py.

The start-up runs in a fresh interpreter (the app's lifespan, as ``threadline serve`` runs it), so
``sys.modules`` shows exactly what it imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from threadline.store.engine import MIGRATIONS_DIR, Store
from threadline.store.revisions import schema_is_current, script_heads

# Loaded later, when needed: migrations only when the schema is behind; the Redis client only with
# THREADLINE_REDIS_URL; the provider SDKs (and httpx under them) off the event loop after start-up; the
# login limiter at the first login; none of the test and tooling libraries ever.
NOT_AT_STARTUP = ("alembic", "mako", "pygments", "redis", "limits", "openai", "anthropic", "httpx", "rich",
                  "websockets", "jsonschema", "schemathesis", "playwright", "pytest")

PROBE = """
import asyncio, json, sys
from threadline.settings import Settings
from threadline.web.app import create_app

async def main() -> None:
    app = create_app(Settings(home=sys.argv[1]))
    async with app.router.lifespan_context(app):
        loaded = sorted({name.split(".")[0] for name in sys.modules})
    print(json.dumps(loaded))

asyncio.run(main())
"""


def started_modules(home: Path) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADLINE_", "OPENAI_", "ANTHROPIC_"))}
    env["THREADLINE_DETECT_OLLAMA"] = "false"
    done = subprocess.run([sys.executable, "-c", PROBE, str(home)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.slow
def test_a_start_on_a_current_schema_imports_nothing_the_first_page_does_not_need(tmp_path: Path) -> None:
    first = started_modules(tmp_path)  # a new home: migrations run, so Alembic is loaded
    assert "alembic" in first
    again = started_modules(tmp_path)
    assert {"fastapi", "sqlalchemy", "threadline"} <= again
    assert not again & set(NOT_AT_STARTUP), sorted(again & set(NOT_AT_STARTUP))


def test_the_head_revisions_are_alembics() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert script_heads(MIGRATIONS_DIR / "versions") == frozenset(ScriptDirectory.from_config(config).get_heads())


def test_a_migration_file_not_understood_leaves_the_decision_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "0001_a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (tmp_path / "0002_b.py").write_text('revision = "0002"\ndown_revision = "0001"\n')
    assert script_heads(tmp_path) == {"0002"}
    (tmp_path / "0003_c.py").write_text('revision = "0003"\ndown_revision = ("0002", "0001")\n')
    assert script_heads(tmp_path) == {"0003"}
    (tmp_path / "0004_d.py").write_text("revision = make_revision()\n")
    assert script_heads(tmp_path) is None


async def test_an_older_schema_is_still_upgraded(tmp_path: Path) -> None:
    store = Store.for_sqlite_path(tmp_path / "old.db")
    try:
        assert not await schema_is_current(store.engine, MIGRATIONS_DIR / "versions")  # no database yet
        async with store.engine.begin() as conn:
            await conn.run_sync(_upgrade_to, "0002")
        assert not await schema_is_current(store.engine, MIGRATIONS_DIR / "versions")
        await store.migrate()
        assert await schema_is_current(store.engine, MIGRATIONS_DIR / "versions")
        async with store.read() as conn:
            columns = (await conn.exec_driver_sql("PRAGMA table_info(sessions)")).all()
        assert "runtime" in {row[1] for row in columns}  # added by 0003
    finally:
        await store.close()


def _upgrade_to(connection: object, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def test_the_server_freezes_what_start_up_made_and_collects_less_often() -> None:
    code = ("import gc, json; from threadline.cli.gcpolicy import server_gc, SERVER_THRESHOLDS; "
            "import threadline.web.app; server_gc(); "
            "print(json.dumps([gc.get_threshold() == SERVER_THRESHOLDS, gc.get_freeze_count()]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    thresholds_set, frozen = json.loads(done.stdout)
    assert thresholds_set and frozen > 10_000  # the imported libraries' objects are no longer walked


async def test_on_started_runs_once_start_up_is_done(tmp_path: Path) -> None:
    from threadline.settings import Settings
    from threadline.web.app import create_app

    seen: list[bool] = []
    app = create_app(Settings(home=tmp_path, detect_ollama=False),
                     on_started=lambda: seen.append(hasattr(app.state, "services")))
    async with app.router.lifespan_context(app):
        assert seen == [True]


def test_the_heads_are_read_without_the_python_parser() -> None:
    """Start-up reads the heads while worker threads may import and parse: on Python 3.11 two
    ``ast.parse`` at once can fail with "AST constructor recursion depth mismatch" (CPython gh-106905;
    seen in CI as a failed start-up), so the heads are read as text, never through the parser."""
    import ast

    parse, parsed = ast.parse, []

    def counted(*args: Any, **kwargs: Any) -> Any:
        parsed.append(args[0])
        return parse(*args, **kwargs)

    ast.parse = counted  # pytest itself parses when it reports: restored before any assertion
    try:
        heads = script_heads(MIGRATIONS_DIR / "versions")
    finally:
        ast.parse = parse
    assert parsed == [] and heads == {"0007"}
