"""Alembic migrations on an empty database, at start-up and through ``threadline migrate``."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from threadline.sessions.drafts import MemoryDrafts
from threadline.sessions.service import SessionService
from threadline.settings import Settings
from threadline.store import tables
from threadline.store.engine import Store

HEAD = sorted(p.name for p in (Path(tables.__file__).parent / "migrations" / "versions").glob("0*.py"))[-1][:4]
EXPECTED_TABLES = {
    "alembic_version", "sessions", "messages", "runs", "run_events", "projects", "approvals", "settings",
    "background_tasks", "messages_fts",
}


def schema(path: Path) -> tuple[set[str], dict[str, set[str]], set[str]]:
    with sqlite3.connect(path) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table')")}
        columns = {
            name: {r[1] for r in db.execute(f"PRAGMA table_info({name})")}
            for name in names if not name.startswith("messages_fts") and not name.startswith("sqlite_")
        }
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        triggers = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    return names, columns, indexes | triggers


async def test_migrations_create_every_table(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    store = Store.for_sqlite_path(path)
    try:
        await store.migrate()
        await store.migrate()  # idempotent
    finally:
        await store.close()
    names, columns, extras = schema(path)
    assert EXPECTED_TABLES <= names
    # The migration matches the tables the code uses, column for column.
    for table in tables.metadata.sorted_tables:
        assert columns[table.name] == {c.name for c in table.columns}, table.name
    assert {"ix_sessions_list", "ix_sessions_all", "ix_sessions_parent", "ix_sessions_project",
            "ix_runs_session_status", "ix_background_tasks_parent"} <= extras
    assert {"messages_fts_ai", "messages_fts_ad", "messages_fts_au"} <= extras
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_full_text_triggers_follow_the_messages(tmp_path: Path) -> None:
    path = tmp_path / "fts.db"
    store = Store.for_sqlite_path(path)
    await store.migrate()
    await store.close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO sessions (id, title, workspace, created_at, updated_at, sort_at) "
                   "VALUES ('s1', 't', '/w', 0, 0, 0)")
        db.execute("INSERT INTO messages (session_id, seq, role, content, created_at) VALUES ('s1', 0, 'user', "
                   "'the quick brown fox', 0)")
        assert db.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'fox'").fetchall() == [(1,)]
        db.execute("UPDATE messages SET content = 'a lazy dog' WHERE id = 1")
        assert db.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'fox'").fetchall() == []
        assert db.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'dog'").fetchall() == [(1,)]
        db.execute("DELETE FROM messages")
        assert db.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'dog'").fetchone() == (0,)


async def test_every_list_view_has_an_index_in_its_order(tmp_path: Path) -> None:
    """The sidebar's queries never sort or walk rows they do not return (migration 0002): the SQL that
    ``SessionService.list`` sends to SQLite, with its parameters, for every view and its next page."""
    path = tmp_path / "plans.db"
    store = Store.for_sqlite_path(path)
    await store.migrate()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO projects (id, name, created_at) VALUES ('p', 'P', 0)")
        for i in range(3):
            for archived, project in ((0, None), (1, None), (0, "p"), (1, "p")):
                db.execute("INSERT INTO sessions (id, title, workspace, created_at, updated_at, sort_at, archived, "
                           "project_id) VALUES (?, 'a chat', '/w', 0, 0, ?, ?, ?)",
                           (f"{i}{archived}{project or 'x'}", float(i), archived, project))
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM sessions" in statement:
            sent.append((statement, parameters))

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    service = SessionService(store, MemoryDrafts(ttl_seconds=60, cap=10), Settings(home=tmp_path))
    views = {
        "archived=0": ({"archived": "0"}, "ix_sessions_list"),
        "archived=1": ({"archived": "1"}, "ix_sessions_list"),
        "archived=all": ({"archived": "all"}, "ix_sessions_all"),
        "project, archived=0": ({"archived": "0", "project_id": "p"}, "ix_sessions_project"),
        "project, archived=all": ({"archived": "all", "project_id": "p"}, "ix_sessions_project"),
    }
    try:
        for name, (params, index) in views.items():
            first = await service.list(limit=1, **params)
            assert first["next_cursor"], name
            await service.list(limit=1, cursor=first["next_cursor"], **params)
            pages, sent[:] = sent[:], []
            assert len(pages) == 2, (name, pages)
            with sqlite3.connect(path) as db:
                for statement, parameters in pages:
                    plan = " ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + statement, parameters))
                    assert f"USING INDEX {index}" in plan and "TEMP B-TREE" not in plan, (name, statement, plan)
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)
        await store.close()


@pytest.mark.slow
def test_migrate_command(tmp_path: Path) -> None:
    home = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "threadline", "migrate", "--home", str(home)],
            capture_output=True, text=True, env=env, timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"database is up to date: sqlite+aiosqlite:///{home / 'threadline.db'}"
    names, _columns, _extras = schema(home / "threadline.db")
    assert EXPECTED_TABLES <= names
    via_env = subprocess.run(
        [sys.executable, "-m", "threadline", "migrate"], capture_output=True, text=True,
        env={**env, "THREADLINE_HOME": str(tmp_path / "from-env")}, timeout=60,
    )
    assert via_env.returncode == 0 and (tmp_path / "from-env" / "threadline.db").is_file()


def _alembic(connection: Any, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from threadline.store.engine import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


async def test_unknown_cost_migration_keeps_every_row(tmp_path: Path) -> None:
    """0004 makes ``sessions.estimated_cost`` nullable without rebuilding the table: on SQLite a rebuild
    would drop ``sessions``, and with foreign keys on that deletes every message. Down and up again on a
    database with rows, on SQLite or on the suite's PostgreSQL."""
    from sqlalchemy import func, insert, select, update

    from tests.conftest import make_settings

    store = Store(make_settings(tmp_path).resolved_database_url)
    s, m = tables.sessions, tables.messages
    try:
        await store.migrate()
        async with store.engine.connect() as conn:
            await conn.run_sync(_alembic, "downgrade", "0003")
            await conn.commit()
        async with store.write() as conn:
            await conn.execute(insert(s).values(id="s1", title="t", workspace="/w", created_at=1, updated_at=1,
                                                sort_at=1, estimated_cost=0.5))
            await conn.execute(insert(m), [{"session_id": "s1", "seq": n, "role": "user", "content": f"m{n}",
                                            "created_at": 1} for n in range(3)])
        with pytest.raises(Exception, match="(?i)not.null"):
            async with store.write() as conn:
                await conn.execute(update(s).values(estimated_cost=None))
        await store.migrate()
        async with store.write() as conn:
            await conn.execute(update(s).values(estimated_cost=None))
        async with store.read() as conn:
            assert (await conn.execute(select(func.count()).select_from(m))).scalar_one() == 3
            assert (await conn.execute(select(s.c.estimated_cost))).scalar_one() is None
        async with store.engine.connect() as conn:  # down again: an unknown cost becomes 0
            await conn.run_sync(_alembic, "downgrade", "0003")
            await conn.commit()
        async with store.read() as conn:
            assert (await conn.execute(select(s.c.estimated_cost))).scalar_one() == 0
            assert (await conn.execute(select(func.count()).select_from(m))).scalar_one() == 3
    finally:
        await store.close()


def _branches_migration() -> Any:
    """The migration that made messages a tree, and the revision before it."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from threadline.store.engine import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    return next(s for s in scripts.walk_revisions() if "message_branches" in (s.path or ""))


async def _move_to(store: Store, action: str, revision: str) -> None:
    async with store.engine.connect() as conn:
        await conn.run_sync(_alembic, action, revision)
        await conn.commit()


async def test_linear_transcripts_become_single_branch_trees(tmp_path: Path) -> None:
    """Upgrading a database with linear transcripts (SQLite, or PostgreSQL with
    THREADLINE_TEST_DATABASE_URL): every message follows the one before it, all on the active path,
    the last one its leaf; search still finds them and new messages go after the leaf. Downgrading keeps
    the active path."""
    from sqlalchemy import text

    url = os.environ.get("THREADLINE_TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    store = Store(url)
    script = _branches_migration()
    try:
        await store.migrate()
        await _move_to(store, "downgrade", script.down_revision)
        async with store.write() as conn:
            for sid, count in (("s1", 5), ("s2", 2), ("s3", 0)):
                await conn.execute(text(
                    "INSERT INTO sessions (id, title, workspace, created_at, updated_at, sort_at, message_count) "
                    "VALUES (:id, 'old chat', '/w', 0, 0, 0, :n)"), {"id": sid, "n": count})
                for seq in range(count):
                    await conn.execute(text(
                        "INSERT INTO messages (session_id, seq, role, content, created_at) "
                        "VALUES (:sid, :seq, :role, :content, :at)"),
                        {"sid": sid, "seq": seq, "role": "user" if seq % 2 == 0 else "assistant",
                         "content": f"{sid} words number{seq}", "at": 100.0 + seq})
        await store.migrate()
        async with store.read() as conn:
            rows = (await conn.execute(text(
                "SELECT id, session_id, seq, parent_id, position, active_at FROM messages ORDER BY session_id, seq"
            ))).mappings().all()
            leaves = dict((await conn.execute(text("SELECT id, active_leaf_id FROM sessions"))).all())
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        assert version == HEAD
        for sid in ("s1", "s2"):
            chain = [r for r in rows if r["session_id"] == sid]
            assert [r["position"] for r in chain] == [r["seq"] for r in chain] == list(range(len(chain)))
            assert [r["parent_id"] for r in chain] == [None, *[r["id"] for r in chain[:-1]]]
            assert [r["active_at"] for r in chain] == [100.0 + r["seq"] for r in chain]
            assert leaves[sid] == chain[-1]["id"]
        assert leaves["s3"] is None

        service = SessionService(store, MemoryDrafts(ttl_seconds=60, cap=10), Settings(home=tmp_path))
        session = await service.get("s1", msg_limit=2)
        assert [m["content"] for m in session["messages"]] == ["s1 words number3", "s1 words number4"]
        from threadline.sessions.search import search_sessions

        found = await search_sessions(service, "number4")
        assert [(s["session_id"], s["on_active_path"]) for s in found["sessions"]] == [("s1", True)]
        async with store.write() as conn:
            from threadline.sessions.rows import NewMessage

            added = await service.append_message(conn, "s1", NewMessage(role="user", content="fresh zeppelin"))
        assert added["parent_id"] == leaves["s1"] and added["seq"] == 5
        assert [s["session_id"] for s in (await search_sessions(service, "zeppelin"))["sessions"]] == ["s1"]

        # A version off the path, then back down: the active path stays, as a linear transcript.
        from threadline.sessions import history

        await history.truncate(service, "s1", 2)
        async with store.write() as conn:
            await service.append_message(conn, "s1", NewMessage(role="user", content="other version"))
        await _move_to(store, "downgrade", script.down_revision)
        async with store.read() as conn:
            kept = (await conn.execute(text(
                "SELECT seq, content FROM messages WHERE session_id = 's1' ORDER BY seq"))).all()
        assert kept == [(0, "s1 words number0"), (1, "s1 words number1"), (2, "other version")]
        await store.migrate()
    finally:
        await store.close()
