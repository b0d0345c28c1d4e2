"""The lifecycle contract (DESIGN §3): drafts write no row, the first real state does, ids never change."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from pathlib import Path

import httpx
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.support import add_messages, chat_session, listed_ids, new_draft, session_rows
from threadline.web.app import create_app


async def test_new_session_is_a_draft(client: httpx.AsyncClient, app: FastAPI, settings) -> None:
    response = await client.post("/api/session/new", json={})
    assert response.status_code == 200
    session = response.json()["session"]
    assert len(session["session_id"]) == 12 and all(c in "0123456789abcdef" for c in session["session_id"])
    assert session["title"] == "Untitled"
    assert session["messages"] == []
    assert session["message_count"] == 0
    assert session["is_draft"] is True
    assert session["workspace"] == str(settings.resolved_default_workspace)
    assert await session_rows(app) == 0


async def test_new_session_with_workspace_and_model(client: httpx.AsyncClient, home: Path) -> None:
    workspace = home / "project"
    workspace.mkdir()
    response = await client.post("/api/session/new", json={"workspace": str(workspace), "model": "m-1"})
    assert response.status_code == 200
    assert response.json()["session"]["workspace"] == str(workspace)
    assert response.json()["session"]["model"] == "m-1"


async def test_new_session_refuses_untrusted_workspace(client: httpx.AsyncClient, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    for workspace in (str(outside), "/etc", "relative/path", str(tmp_path / "home" / "missing")):
        response = await client.post("/api/session/new", json={"workspace": workspace})
        assert response.status_code == 400, workspace
        assert "workspace" in response.json()["error"]


async def test_a_thousand_new_sessions_write_nothing(client: httpx.AsyncClient, app: FastAPI) -> None:
    ids = [await new_draft(client) for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert await session_rows(app) == 0
    for chunk in range(0, 1000, 100):
        answers = await asyncio.gather(
            *(client.get("/api/session", params={"session_id": sid}) for sid in ids[chunk:chunk + 100])
        )
        assert all(a.status_code == 200 and a.json()["session"]["is_draft"] for a in answers)
    assert await listed_ids(client, archived="all") == []
    search = await client.get("/api/sessions/search", params={"q": "Untitled"})
    assert search.json()["sessions"] == []
    assert await session_rows(app) == 0


async def test_drafts_are_bounded_by_the_cap(home: Path) -> None:
    app = create_app(make_settings(home, draft_cap=50))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            for _ in range(200):  # warm every cache before measuring
                await new_draft(client)
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            ids = [await new_draft(client) for _ in range(1000)]
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            assert await app.state.services.drafts.count() == 50
            assert (await client.get("/health")).json()["drafts"] == 50
            # 1,000 drafts kept would cost far more than this; 50 stay, whatever the number of calls.
            assert grown < 300_000, grown
            assert (await client.get("/api/session", params={"session_id": ids[0]})).status_code == 404
            assert (await client.get("/api/session", params={"session_id": ids[-1]})).status_code == 200
            assert await session_rows(app) == 0


async def test_drafts_expire_after_the_ttl(home: Path) -> None:
    app = create_app(make_settings(home, draft_ttl_seconds=0.2))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            session_id = await new_draft(client)
            assert (await client.get("/api/session", params={"session_id": session_id})).status_code == 200
            await asyncio.sleep(0.3)
            response = await client.get("/api/session", params={"session_id": session_id})
            assert response.status_code == 404
            assert response.json() == {"error": f"session not found: {session_id}"}


async def test_eviction_never_touches_stored_sessions(home: Path) -> None:
    app = create_app(make_settings(home, draft_cap=5))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            stored = await chat_session(client, app, messages=2)
            for _ in range(50):
                await new_draft(client)
            response = await client.get("/api/session", params={"session_id": stored})
            assert response.status_code == 200
            assert response.json()["session"]["message_count"] == 2


async def test_first_user_message_materializes_the_draft(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await new_draft(client)
    message = await app.state.services.sessions.append_user_message(session_id, "first question", attachments=["a.txt"])
    assert message["role"] == "user" and message["seq"] == 0 and message["attachments"] == ["a.txt"]
    assert await session_rows(app) == 1
    session = (await client.get("/api/session", params={"session_id": session_id})).json()["session"]
    assert session["session_id"] == session_id
    assert session["is_draft"] is False
    assert session["message_count"] == 1
    assert session["messages"][0]["content"] == "first question"
    # Untitled but with a message: listed (DESIGN §3.3).
    assert session_id in await listed_ids(client)
    assert await app.state.services.drafts.get(session_id) is None


async def test_untitled_sessions_without_messages_are_never_listed(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=2)
    await client.post("/api/session/clear", json={"session_id": session_id})
    assert await session_rows(app) == 1
    assert session_id not in await listed_ids(client, archived="all")
    pinned = await new_draft(client)
    await client.post("/api/session/pin", json={"session_id": pinned, "pinned": True})
    assert await session_rows(app) == 2
    assert pinned not in await listed_ids(client, archived="all")


async def test_hidden_kinds_are_never_listed(client: httpx.AsyncClient, app: FastAPI) -> None:
    parent = await chat_session(client, app, title="parent")
    service = app.state.services.sessions
    async with service.store.write() as conn:
        for kind in ("btw", "background"):
            await service.create_row(
                conn, title=f"{kind}: side", workspace="/tmp", kind=kind, parent_id=parent, message_count=3
            )
    assert await listed_ids(client, archived="all") == [parent]
    search = await client.get("/api/sessions/search", params={"q": "side"})
    assert search.json()["sessions"] == []


async def test_renamed_draft_is_listed_and_survives_a_restart(home: Path) -> None:
    settings = make_settings(home)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            session_id = await new_draft(client)
            renamed = await client.post("/api/session/rename", json={"session_id": session_id, "title": "Plans"})
            assert renamed.status_code == 200
            assert renamed.json()["session"]["session_id"] == session_id
            assert session_id in await listed_ids(client)
            forgotten = await new_draft(client)
    again = create_app(make_settings(home))
    async with again.router.lifespan_context(again):
        transport = httpx.ASGITransport(app=again)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            listed = (await client.get("/api/sessions")).json()["sessions"]
            assert [(s["session_id"], s["title"], s["message_count"]) for s in listed] == [(session_id, "Plans", 0)]
            # The draft that never had real state is gone: by design.
            assert (await client.get("/api/session", params={"session_id": forgotten})).status_code == 404


async def test_messages_survive_a_restart(home: Path) -> None:
    app = create_app(make_settings(home))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            session_id = await chat_session(client, app, title="kept", messages=5)
    again = create_app(make_settings(home))
    async with again.router.lifespan_context(again):
        transport = httpx.ASGITransport(app=again)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            session = (await client.get("/api/session", params={"session_id": session_id})).json()["session"]
            assert session["title"] == "kept"
            assert [m["seq"] for m in session["messages"]] == [0, 1, 2, 3, 4]


async def test_every_metadata_change_materializes_a_draft(client: httpx.AsyncClient, app: FastAPI) -> None:
    project = (await client.post("/api/projects/create", json={"name": "P"})).json()["project"]
    calls = [
        ("/api/session/pin", {"pinned": True}),
        ("/api/session/archive", {"archived": True}),
        ("/api/session/move", {"project_id": project["project_id"]}),
        ("/api/session/rename", {"title": "named"}),
    ]
    for index, (path, extra) in enumerate(calls, start=1):
        session_id = await new_draft(client)
        response = await client.post(path, json={"session_id": session_id, **extra})
        assert response.status_code == 200, response.text
        assert response.json()["session"]["session_id"] == session_id
        assert response.json()["session"]["is_draft"] is False
        assert await session_rows(app) == index


async def test_update_on_a_draft_changes_the_draft_only(client: httpx.AsyncClient, app: FastAPI, home: Path) -> None:
    session_id = await new_draft(client)
    workspace = home / "other"
    workspace.mkdir()
    response = await client.post(
        "/api/session/update", json={"session_id": session_id, "model": "new-model", "workspace": str(workspace)}
    )
    assert response.status_code == 200
    session = response.json()["session"]
    assert session["model"] == "new-model" and session["workspace"] == str(workspace) and session["is_draft"]
    assert await session_rows(app) == 0
    fetched = (await client.get("/api/session", params={"session_id": session_id})).json()["session"]
    assert fetched["model"] == "new-model"


async def test_update_on_a_stored_session(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app)
    response = await client.post("/api/session/update", json={"session_id": session_id, "model": "other"})
    assert response.status_code == 200
    assert response.json()["session"]["model"] == "other"
    assert len(response.json()["session"]["messages"]) == 2
    bad = await client.post("/api/session/update", json={"session_id": session_id, "workspace": "/etc"})
    assert bad.status_code == 400


async def test_append_is_independent_of_transcript_length(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=1)
    await add_messages(app, session_id, 499)
    session = (await client.get("/api/session", params={"session_id": session_id, "messages": 0})).json()
    assert session["session"]["message_count"] == 500
    started = time.perf_counter()
    await add_messages(app, session_id, 1)
    assert time.perf_counter() - started < 0.5
