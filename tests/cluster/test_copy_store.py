"""``threadline copy-store``: SQLite -> PostgreSQL -> SQLite gives back every row exactly, ids kept,
search working on each side; a non-empty target is refused unless --force."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.pg import PgDatabases, run_sync
from threadline.cli import main
from threadline.sessions.rows import NewMessage
from threadline.sessions.search import search_sessions
from threadline.settings import Settings
from threadline.store import tables as t
from threadline.store.copying import copy_order
from threadline.store.engine import Store

pytestmark = pytest.mark.slow


async def _populate(home: Path) -> None:
    from threadline.services import Services

    settings = Settings(home=home, default_workspace=home, workspace_roots=[home], detect_ollama=False)
    services = await Services.open(settings, env={})
    try:
        project = await services.projects.create("Research", "#ff8800")
        sessions = services.sessions
        ids = []
        for index in range(7):
            draft = await sessions.create_draft()
            await sessions.append_user_message(draft["session_id"], f"question {index} about zebras ünïcode 🧵")
            ids.append(draft["session_id"])
        async with services.store.write() as conn:
            for index, session_id in enumerate(ids):
                for turn in range(index * 40):  # 0..240 messages: several batches
                    await sessions.append_message(conn, session_id, NewMessage(
                        role="assistant" if turn % 2 == 0 else "user",
                        content=f"answer {turn} with nul\x00 and «quotes»",
                        parts=[{"type": "text", "text": f"p{turn}"}], meta={"n": turn, "f": 0.1 + turn},
                        in_context=turn % 5 != 0, tool_calls=[{"id": f"c{turn}"}] if turn % 7 == 0 else None,
                    ))
            child = await sessions.create_row(conn, workspace=str(home), kind="btw", parent_id=ids[1])
            await sessions.create_row(conn, workspace=str(home), kind="btw", parent_id=child["id"])
            await conn.execute(update(t.sessions).where(t.sessions.c.id == ids[2])
                               .values(pinned=True, archived=True, project_id=project["project_id"],
                                       extra={"x": [1, None]}, estimated_cost=None))
            now = time.time()
            await conn.execute(t.runs.insert().values(id="run1", session_id=ids[3], status="succeeded", created_at=now,
                                                      request={"message": "m"}, usage={"input_tokens": 3}))
            await conn.execute(t.run_events.insert(), [
                {"run_id": "run1", "seq": seq, "type": "token", "data": {"text": f"t{seq}"}, "created_at": now + seq}
                for seq in range(1, 30)
            ])
            await conn.execute(t.background_tasks.insert().values(
                id="task1", parent_id=ids[3], session_id=ids[4], prompt="bg", status="succeeded", answer="done",
                delivered=True, created_at=now))
            await conn.execute(t.approvals.insert().values(tool="run_shell", pattern="ls", created_at=now))
            await conn.execute(t.settings.insert().values(key="theme", value="dark"))
    finally:
        await services.close()


async def _dump(url: str) -> dict[str, list[dict[str, Any]]]:
    store = Store(url)
    try:
        async with store.read() as conn:
            dump = {}
            for table in copy_order():
                key = list(table.primary_key.columns)
                rows = await conn.execute(select(table).order_by(*key))
                dump[table.name] = [dict(row) for row in rows.mappings()]
            return dump
    finally:
        await store.close()


async def _search(url: str, home: Path, query: str) -> list[str]:
    from threadline.services import Services

    settings = Settings(home=home, database_url=url, detect_ollama=False)
    services = await Services.open(settings, env={}, migrate=False)
    try:
        found = await search_sessions(services.sessions, query)
        async with services.store.write() as conn:  # new rows get new ids after the copied ones
            session_id = found["sessions"][0]["session_id"]
            row = await services.sessions.append_message(conn, session_id, NewMessage(role="user", content="later"))
            assert row["id"] is not None
        return [s["match_type"] for s in found["sessions"]]
    finally:
        await services.close()


def test_sqlite_to_postgresql_and_back(tmp_path: Path, pg_server: PgDatabases,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    first, last = tmp_path / "first", tmp_path / "last"
    run_sync(_populate(first))
    source = f"sqlite:///{first / 'threadline.db'}"
    back = f"sqlite:///{last / 'threadline.db'}"
    last.mkdir()
    name = pg_server.create(migrated=False)
    try:
        middle = pg_server.url_for(name)
        assert main(["copy-store", "--from", source, "--to", middle, "--batch", "50"]) == 0
        assert "copied" in capsys.readouterr().err
        assert main(["copy-store", "--from", middle, "--to", back]) == 0

        original = run_sync(_dump(f"sqlite+aiosqlite:///{first / 'threadline.db'}"))
        assert run_sync(_dump(middle)) == original
        assert run_sync(_dump(f"sqlite+aiosqlite:///{last / 'threadline.db'}")) == original
        assert len(original["messages"]) == sum(1 + i * 40 for i in range(7))
        assert original["messages"][-1]["content"].endswith("nul\ufffd and «quotes»")

        # A filled target is refused; --force replaces it.
        assert main(["copy-store", "--from", source, "--to", middle]) == 2
        assert "not empty" in capsys.readouterr().err
        assert main(["copy-store", "--from", source, "--to", middle, "--force"]) == 0
        assert run_sync(_dump(middle)) == original

        assert "content" in run_sync(_search(middle, tmp_path / "s1", "zebras"))
        assert "content" in run_sync(_search(f"sqlite+aiosqlite:///{last / 'threadline.db'}", tmp_path / "s2",
                                             "zebras"))
    finally:
        pg_server.drop(name)


def test_refuses_the_same_database_and_an_unmigrated_source(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert main(["copy-store", "--from", url, "--to", url]) == 2
    assert "same database" in capsys.readouterr().err
    assert main(["copy-store", "--from", url, "--to", f"sqlite:///{tmp_path / 'b.db'}"]) == 2
    assert "no Threadline schema" in capsys.readouterr().err
