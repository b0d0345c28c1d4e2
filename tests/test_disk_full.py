"""A full disk or database answers 507 with a message naming the cause, writes nothing, and the
server keeps serving reads and recovers once there is room again (issue 10 item 8)."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy.exc
from fastapi import FastAPI
from sqlalchemy import event

from tests.conftest import make_settings
from tests.support import chat_session, session_rows
from threadline.errors import InsufficientStorage
from threadline.web.app import create_app

FULL = "storage is full: the disk or the database has no space left, so nothing was saved"
BIG = {"title": "big", "messages": [{"role": "user", "content": "x" * 200_000}]}


@contextlib.asynccontextmanager
async def page_limit(app: FastAPI) -> AsyncIterator[None]:
    """SQLite's ``max_page_count`` at the database's current size, on every connection: the next
    write that needs a page fails with SQLITE_FULL ("database or disk is full"), as on a full disk."""
    store = app.state.services.store
    if not store.is_sqlite:
        pytest.skip("SQLite's page limit; PostgreSQL's disk_full (53100) is covered by the mapping test")
    async with store.read() as conn:
        pages = (await conn.exec_driver_sql("PRAGMA page_count")).scalar_one()

    def limit(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    event.listen(store.engine.sync_engine, "connect", limit)
    await store.engine.dispose()  # every connection from now on is a new, limited one
    try:
        yield
    finally:
        event.remove(store.engine.sync_engine, "connect", limit)
        await store.engine.dispose()


async def test_a_full_database_answers_507_and_changes_nothing(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, title="before")
    async with page_limit(app):
        imported = await client.post("/api/session/import", json=BIG)
        assert imported.status_code == 507, imported.text
        assert imported.json() == {"error": FULL}
        again = await client.post("/api/session/import", json=BIG)
        assert again.status_code == 507  # the failed write left no transaction open behind it
        renamed = await client.post("/api/session/rename", json={"session_id": session_id, "title": "after"})
        assert renamed.status_code == 200, renamed.text  # a write that fits in the pages there are
        listed = await client.get("/api/sessions")
        assert listed.status_code == 200 and [(s["session_id"], s["title"]) for s in listed.json()["sessions"]] == [
            (session_id, "after")]
        assert (await client.get("/health")).status_code == 200
    assert await session_rows(app) == 1
    assert (await client.post("/api/session/import", json=BIG)).status_code == 200  # room again


def test_the_mapping_reads_through_wrapped_driver_errors() -> None:
    """SQLAlchemy wraps the driver's error (``.orig``); asyncpg's carries SQLSTATE 53100 (disk_full)."""

    class PgError(Exception):
        sqlstate = "53100"

    wrapped = sqlalchemy.exc.OperationalError("INSERT ...", {}, PgError("could not extend file"))
    assert isinstance(InsufficientStorage.caused(wrapped), InsufficientStorage)
    try:
        raise RuntimeError("while saving") from OSError(errno.ENOSPC, "No space left on device")
    except RuntimeError as exc:
        assert InsufficientStorage.caused(exc) is not None
    assert InsufficientStorage.caused(OSError(errno.ENOENT, "No such file")) is None
    assert InsufficientStorage.caused(sqlalchemy.exc.OperationalError("x", {}, Exception("locked"))) is None


@contextlib.contextmanager
def tiny_filesystem(path: Path, size: str = "4m") -> Iterator[Path]:
    path.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


async def test_a_full_filesystem_answers_507(tmp_path: Path) -> None:
    """A real filesystem that runs out of space: the database (SQLITE_FULL) and a file the server
    writes (``OSError`` ENOSPC, the providers file) both answer 507."""
    if os.environ.get("THREADLINE_TEST_DATABASE_URL"):
        pytest.skip("the database is not on this filesystem")
    with tiny_filesystem(tmp_path / "disk") as disk:
        home = disk / "home"
        home.mkdir()
        app = create_app(make_settings(home))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
                ok = await client.post("/api/session/import", json={"messages": [{"role": "user", "content": "hi"}]})
                assert ok.status_code == 200
                filler = disk / "filler"
                with filler.open("wb") as handle, contextlib.suppress(OSError):
                    while True:
                        handle.write(b"\0" * 65536)
                imported = await client.post("/api/session/import", json=BIG)
                assert imported.status_code == 507 and imported.json() == {"error": FULL}, imported.text
                saved = await client.post("/api/providers", json={"id": "p", "kind": "openai", "api_key": "k" * 40,
                                                                  "base_url": "http://127.0.0.1:9/v1",
                                                                  "models": ["m" * 200] * 100})
                assert saved.status_code == 507 and saved.json() == {"error": FULL}, saved.text
                assert (await client.get("/api/sessions")).json()["sessions"][0]["session_id"] == \
                    ok.json()["session"]["session_id"]
                assert [p["id"] for p in (await client.get("/api/providers")).json()["providers"]] == []
                filler.unlink()
                assert (await client.post("/api/session/import", json=BIG)).status_code == 200
