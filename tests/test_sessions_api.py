"""Session endpoints (reference §2.1): success and error cases of each."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from tests.support import add_messages, chat_session, listed_ids, new_draft, session_rows


async def get_session(client: httpx.AsyncClient, session_id: str, **params: object) -> dict:
    response = await client.get("/api/session", params={"session_id": session_id, **params})
    assert response.status_code == 200, response.text
    return response.json()["session"]


# -- GET /api/session -------------------------------------------------------------------------------


async def test_get_session_windows(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=10)
    full = await get_session(client, session_id)
    assert [m["seq"] for m in full["messages"]] == list(range(10))
    assert full["_messages_truncated"] is False and full["_messages_offset"] == 0
    assert full["messages"][0]["role"] == "user" and full["messages"][1]["role"] == "assistant"
    assert all(isinstance(m["timestamp"], float) for m in full["messages"])

    meta = await get_session(client, session_id, messages=0)
    assert "messages" not in meta and meta["message_count"] == 10

    last = await get_session(client, session_id, msg_limit=3)
    assert [m["seq"] for m in last["messages"]] == [7, 8, 9]
    assert last["_messages_truncated"] is True and last["_messages_offset"] == 7

    before = await get_session(client, session_id, msg_limit=3, msg_before=7)
    assert [m["seq"] for m in before["messages"]] == [4, 5, 6]
    assert before["_messages_offset"] == 4

    start = await get_session(client, session_id, msg_limit=3, msg_before=2)
    assert [m["seq"] for m in start["messages"]] == [0, 1] and start["_messages_offset"] == 0

    beyond = await get_session(client, session_id, msg_before=500)
    assert len(beyond["messages"]) == 10

    nothing = await get_session(client, session_id, msg_before=0)
    assert nothing["messages"] == []


async def test_get_session_errors(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/session")).status_code == 400
    assert (await client.get("/api/session", params={"session_id": ""})).status_code == 400
    unknown = await client.get("/api/session", params={"session_id": "0123456789ab"})
    assert unknown.status_code == 404 and unknown.json() == {"error": "session not found: 0123456789ab"}
    for bad in ("../../etc/passwd", "..", "a/b", "ABC", "x" * 65, "a b", "%2e%2e"):
        response = await client.get("/api/session", params={"session_id": bad})
        assert response.status_code in (400, 404), bad
        assert "error" in response.json()
    for params in ({"messages": "2"}, {"messages": "yes"}, {"msg_limit": "0"}, {"msg_limit": "x"},
                   {"msg_before": "-1"}):
        response = await client.get("/api/session", params={"session_id": "0123456789ab", **params})
        assert response.status_code == 400, params
        assert "error" in response.json()


# -- GET /api/sessions ------------------------------------------------------------------------------


async def test_list_order_is_pinned_first_then_last_activity(client: httpx.AsyncClient, app: FastAPI) -> None:
    now = time.time()
    ids = {}
    for name, offset in (("old", 100), ("new", 300), ("middle", 200), ("pinned", 50)):
        ids[name] = await new_draft(client)
        await add_messages(app, ids[name], 2, start_at=now + offset)
        await client.post("/api/session/rename", json={"session_id": ids[name], "title": name})
    await client.post("/api/session/pin", json={"session_id": ids["pinned"]})
    body = (await client.get("/api/sessions")).json()
    assert [s["title"] for s in body["sessions"]] == ["pinned", "new", "middle", "old"]
    assert body["sessions"][0]["pinned"] is True
    assert body["sessions"][1]["last_message_at"] == now + 301
    assert body["cli_count"] == 0 and body["next_cursor"] is None
    # New activity moves a session up, behind the pinned one; a rename is not activity.
    await add_messages(app, ids["old"], 1, start_at=now + 400)
    await client.post("/api/session/rename", json={"session_id": ids["middle"], "title": "middle!"})
    assert await listed_ids(client) == [ids["pinned"], ids["old"], ids["new"], ids["middle"]]


async def test_list_pages_with_a_cursor(client: httpx.AsyncClient, app: FastAPI) -> None:
    ids = set()
    for index in range(23):
        ids.add(await chat_session(client, app, title=f"s{index}", messages=1))
    pinned = list(ids)[:3]
    for session_id in pinned:
        await client.post("/api/session/pin", json={"session_id": session_id})
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        body = (await client.get("/api/sessions", params=params)).json()
        assert len(body["sessions"]) <= 5
        seen += [s["session_id"] for s in body["sessions"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23 and set(seen) == ids
    assert set(seen[:3]) == set(pinned)
    assert seen == await listed_ids(client)


async def test_list_cursor_survives_ties_in_activity_time(client: httpx.AsyncClient, app: FastAPI) -> None:
    ids = [await chat_session(client, app, messages=1, start_at=None) for _ in range(6)]
    service = app.state.services.sessions
    from sqlalchemy import update

    from threadline.store import tables as t

    async with service.store.write() as conn:
        await conn.execute(update(t.sessions).values(sort_at=1234.5))
    seen = []
    cursor = None
    while True:
        body = (await client.get("/api/sessions", params={"limit": 4, **({"cursor": cursor} if cursor else {})})).json()
        seen += [s["session_id"] for s in body["sessions"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 6


async def test_list_filters(client: httpx.AsyncClient, app: FastAPI) -> None:
    project = (await client.post("/api/projects/create", json={"name": "Work"})).json()["project"]["project_id"]
    plain = await chat_session(client, app, title="plain")
    archived = await chat_session(client, app, title="archived")
    in_project = await chat_session(client, app, title="in project")
    await client.post("/api/session/archive", json={"session_id": archived, "archived": True})
    await client.post("/api/session/move", json={"session_id": in_project, "project_id": project})
    assert set(await listed_ids(client)) == {plain, in_project}
    assert await listed_ids(client, archived="1") == [archived]
    assert set(await listed_ids(client, archived="all")) == {plain, archived, in_project}
    assert await listed_ids(client, project_id=project) == [in_project]
    assert await listed_ids(client, project_id="000000000000") == []
    await client.post("/api/session/archive", json={"session_id": archived, "archived": False})
    assert archived in await listed_ids(client)


async def test_list_errors(client: httpx.AsyncClient) -> None:
    for params in ({"limit": 0}, {"limit": 501}, {"limit": "x"}, {"archived": "2"}, {"archived": "yes"}):
        response = await client.get("/api/sessions", params=params)
        assert response.status_code == 400, params
        assert "error" in response.json()
    for cursor in ("not-a-cursor", "!!!", "eyJ4IjogMX0"):
        response = await client.get("/api/sessions", params={"cursor": cursor})
        assert response.status_code == 400, cursor
        assert response.json() == {"error": "invalid cursor"}


# -- metadata -------------------------------------------------------------------------------------


async def test_rename(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app)
    response = await client.post("/api/session/rename", json={"session_id": session_id, "title": "  A   new\nname  "})
    assert response.status_code == 200
    assert response.json()["ok"] is True and response.json()["session"]["title"] == "A new name"
    long = await client.post("/api/session/rename", json={"session_id": session_id, "title": "x" * 500})
    assert long.json()["session"]["title"] == "x" * 80
    empty = await client.post("/api/session/rename", json={"session_id": session_id, "title": "   "})
    assert empty.json()["session"]["title"] == "Untitled"
    assert (await client.post("/api/session/rename", json={"session_id": session_id})).status_code == 400
    assert (await client.post("/api/session/rename", json={"title": "x"})).status_code == 400
    wrong = await client.post("/api/session/rename", json={"session_id": session_id, "title": 5})
    assert wrong.status_code == 400
    unknown = await client.post("/api/session/rename", json={"session_id": "0123456789ab", "title": "x"})
    assert unknown.status_code == 404


async def test_a_rename_is_one_statement(client: httpx.AsyncClient, app: FastAPI) -> None:
    """Under load each round trip to the database waits for the busy event loop: renaming a stored
    session is one ``UPDATE ... RETURNING``; a draft's first rename writes its row, then updates it."""
    store = app.state.services.store
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    stored = await chat_session(client, app)
    draft = await new_draft(client)
    event.listen(store.engine.sync_engine, "before_cursor_execute", seen)
    try:
        renamed = await client.post("/api/session/rename", json={"session_id": stored, "title": "one"})
        assert renamed.json()["session"]["title"] == "one"
        assert [s for s in statements if s not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")] == ["UPDATE"]
        statements.clear()
        first = await client.post("/api/session/rename", json={"session_id": draft, "title": "two"})
        assert first.json()["session"]["title"] == "two"
        assert "INSERT" in statements
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", seen)
    assert draft in await listed_ids(client)


async def test_pin_archive_move(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app)
    pinned = await client.post("/api/session/pin", json={"session_id": session_id})
    assert pinned.json()["ok"] is True and pinned.json()["session"]["pinned"] is True
    unpinned = await client.post("/api/session/pin", json={"session_id": session_id, "pinned": False})
    assert unpinned.json()["session"]["pinned"] is False
    archived = await client.post("/api/session/archive", json={"session_id": session_id})
    assert archived.json()["session"]["archived"] is True
    project = (await client.post("/api/projects/create", json={"name": "P"})).json()["project"]["project_id"]
    moved = await client.post("/api/session/move", json={"session_id": session_id, "project_id": project})
    assert moved.json()["session"]["project_id"] == project
    cleared = await client.post("/api/session/move", json={"session_id": session_id, "project_id": None})
    assert cleared.json()["session"]["project_id"] is None
    unknown_project = await client.post("/api/session/move", json={"session_id": session_id, "project_id": "nope"})
    assert unknown_project.status_code == 404
    for path in ("/api/session/pin", "/api/session/archive", "/api/session/move"):
        assert (await client.post(path, json={"session_id": "0123456789ab"})).status_code == 404
        assert (await client.post(path, json={})).status_code == 400
    bad = await client.post("/api/session/pin", json={"session_id": session_id, "pinned": "maybe"})
    assert bad.status_code == 400


async def test_delete(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=4)
    response = await client.post("/api/session/delete", json={"session_id": session_id})
    assert response.json() == {"ok": True, "deleted": True}
    assert (await client.get("/api/session", params={"session_id": session_id})).status_code == 404
    again = await client.post("/api/session/delete", json={"session_id": session_id})
    assert again.json() == {"ok": True, "deleted": False}
    draft = await new_draft(client)
    assert (await client.post("/api/session/delete", json={"session_id": draft})).json()["deleted"] is False
    assert (await client.get("/api/session", params={"session_id": draft})).status_code == 404
    assert (await client.post("/api/session/delete", json={"session_id": "../../x"})).status_code == 404
    assert (await client.post("/api/session/delete", json={})).status_code == 400
    assert await session_rows(app) == 0


async def test_delete_refuses_a_session_with_an_active_run(client: httpx.AsyncClient, app: FastAPI) -> None:
    from sqlalchemy import update

    from threadline.store import tables as t

    session_id = await chat_session(client, app)
    async with app.state.services.store.write() as conn:
        await conn.execute(update(t.sessions).where(t.sessions.c.id == session_id).values(active_run_id="r" * 32))
    for path, extra in (("/api/session/delete", {}), ("/api/session/clear", {}), ("/api/session/retry", {}),
                        ("/api/session/undo", {}), ("/api/session/truncate", {"keep_count": 0})):
        response = await client.post(path, json={"session_id": session_id, **extra})
        assert response.status_code == 409, path
        assert response.json()["active_stream_id"] == "r" * 32


# -- history rewrites -----------------------------------------------------------------------------


async def test_clear(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, title="T", messages=4)
    response = await client.post("/api/session/clear", json={"session_id": session_id})
    assert response.status_code == 200
    session = response.json()["session"]
    assert session["title"] == "Untitled" and session["message_count"] == 0
    assert (await get_session(client, session_id))["messages"] == []
    assert (await client.post("/api/session/clear", json={"session_id": "0123456789ab"})).status_code == 404


async def test_truncate(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=6)
    response = await client.post("/api/session/truncate", json={"session_id": session_id, "keep_count": 3})
    assert response.status_code == 200
    session = response.json()["session"]
    assert session["message_count"] == 3 and [m["seq"] for m in session["messages"]] == [0, 1, 2]
    more = await client.post("/api/session/truncate", json={"session_id": session_id, "keep_count": 99})
    assert more.json()["session"]["message_count"] == 3
    await add_messages(app, session_id, 1)
    assert (await get_session(client, session_id))["messages"][-1]["seq"] == 3
    assert (await client.post("/api/session/truncate", json={"session_id": session_id})).status_code == 400
    negative = await client.post("/api/session/truncate", json={"session_id": session_id, "keep_count": -1})
    assert negative.status_code == 400
    text = await client.post("/api/session/truncate", json={"session_id": session_id, "keep_count": "two"})
    assert text.status_code == 400
    unknown = await client.post("/api/session/truncate", json={"session_id": "0123456789ab", "keep_count": 1})
    assert unknown.status_code == 404


async def test_retry_and_undo(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=1, first="What is the capital of France, exactly?")
    await add_messages(app, session_id, 3, roles=("assistant", "user", "assistant"), text="turn")
    retry = await client.post("/api/session/retry", json={"session_id": session_id})
    assert retry.status_code == 200
    assert retry.json() == {"ok": True, "last_user_text": "turn 1", "removed_count": 2}
    assert (await get_session(client, session_id))["message_count"] == 2
    undo = await client.post("/api/session/undo", json={"session_id": session_id})
    assert undo.status_code == 200
    assert undo.json() == {"ok": True, "removed_count": 2, "removed_preview": "What is the capital of France, exactly?"}
    nothing = await client.post("/api/session/undo", json={"session_id": session_id})
    assert nothing.status_code == 409 and nothing.json() == {"error": "Nothing to undo."}
    no_retry = await client.post("/api/session/retry", json={"session_id": session_id})
    assert no_retry.status_code == 409 and no_retry.json() == {"error": "No previous message to retry."}
    for path in ("/api/session/retry", "/api/session/undo"):
        assert (await client.post(path, json={"session_id": "0123456789ab"})).status_code == 404
        assert (await client.post(path, json={})).status_code == 400


async def test_undo_preview_is_cut_at_forty_characters(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=1, first="y" * 100)
    undo = await client.post("/api/session/undo", json={"session_id": session_id})
    assert undo.json()["removed_preview"] == "y" * 40 + "..."


async def test_duplicate_copies_messages(client: httpx.AsyncClient, app: FastAPI) -> None:
    project = (await client.post("/api/projects/create", json={"name": "P"})).json()["project"]["project_id"]
    source = await chat_session(client, app, title="Original", messages=5)
    await client.post("/api/session/move", json={"session_id": source, "project_id": project})
    response = await client.post("/api/session/duplicate", json={"session_id": source})
    assert response.status_code == 200
    copy = response.json()["session"]
    assert copy["session_id"] != source and copy["title"] == "Original (copy)"
    assert copy["message_count"] == 5 and copy["project_id"] == project
    original_messages = (await get_session(client, source))["messages"]
    copied_messages = (await get_session(client, copy["session_id"]))["messages"]
    strip = [{k: v for k, v in m.items() if k not in ("id", "parent_id")} for m in original_messages]
    assert [{k: v for k, v in m.items() if k not in ("id", "parent_id")} for m in copied_messages] == strip
    assert [m["parent_id"] for m in copied_messages] == [None, *[m["id"] for m in copied_messages[:-1]]]
    # The copy is independent.
    await client.post("/api/session/truncate", json={"session_id": copy["session_id"], "keep_count": 1})
    assert (await get_session(client, source))["message_count"] == 5
    assert (await client.post("/api/session/duplicate", json={"session_id": "0123456789ab"})).status_code == 404


# -- export and import ----------------------------------------------------------------------------


async def test_export_json_and_markdown(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, title="Export me", messages=3)
    response = await client.get("/api/session/export", params={"session_id": session_id})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"] == f'attachment; filename="threadline-{session_id}.json"'
    data = json.loads(response.content)
    assert data["format"] == "threadline.session.v1" and data["title"] == "Export me"
    assert len(data["messages"]) == 3
    markdown = await client.get("/api/session/export", params={"session_id": session_id, "format": "md"})
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# Export me")
    assert "## User" in markdown.text and "## Assistant" in markdown.text and "hello there" in markdown.text
    assert (await client.get("/api/session/export", params={"session_id": "0123456789ab"})).status_code == 404
    assert (await client.get("/api/session/export")).status_code == 400
    bad_format = await client.get("/api/session/export", params={"session_id": session_id, "format": "pdf"})
    assert bad_format.status_code == 400


async def test_export_of_a_draft(client: httpx.AsyncClient) -> None:
    draft = await new_draft(client)
    response = await client.get("/api/session/export", params={"session_id": draft})
    assert response.status_code == 200 and json.loads(response.content)["messages"] == []


async def test_import_round_trip_gets_a_new_id(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, title="Round trip", messages=4)
    exported = json.loads((await client.get("/api/session/export", params={"session_id": session_id})).content)
    response = await client.post("/api/session/import", json=exported)
    assert response.status_code == 200
    imported = response.json()["session"]
    assert response.json()["ok"] is True
    assert imported["session_id"] != session_id and imported["title"] == "Round trip"
    assert [m["content"] for m in imported["messages"]] == [m["content"] for m in exported["messages"]]
    again = await client.post("/api/session/import", json=exported)
    assert again.json()["session"]["session_id"] not in (session_id, imported["session_id"])
    assert len(await listed_ids(client)) == 3


async def test_import_hermes_shaped_messages(client: httpx.AsyncClient, home: Path) -> None:
    body = {
        "title": "From Hermes",
        "workspace": str(home / "workspace"),
        "pinned": True,
        "messages": [
            {"role": "user", "content": "list files", "timestamp": 1_700_000_000},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "a.txt"},
            {"role": "assistant", "content": [{"type": "text", "text": "One file."}], "_ts": 1_700_000_005.5},
            {"role": "assistant", "content": "**Error:** boom", "_error": True},
            {"role": "assistant", "content": "partial", "_partial": True},
        ],
    }
    response = await client.post("/api/session/import", json=body)
    assert response.status_code == 200, response.text
    session = response.json()["session"]
    assert session["pinned"] is True and session["message_count"] == 6
    messages = session["messages"]
    assert messages[0]["timestamp"] == 1_700_000_000
    assert messages[1]["tool_calls"][0]["id"] == "c1"
    assert messages[2]["tool_call_id"] == "c1"
    assert messages[3]["content"] == [{"type": "text", "text": "One file."}]
    assert messages[4]["_error"] is True and messages[5]["_partial"] is True


async def test_import_refuses_untrusted_workspace(client: httpx.AsyncClient, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for workspace in ("/etc", str(outside), "/does/not/exist"):
        response = await client.post(
            "/api/session/import", json={"messages": [{"role": "user", "content": "x"}], "workspace": workspace}
        )
        assert response.status_code == 400, workspace
        assert "workspace" in response.json()["error"]


async def test_import_errors(client: httpx.AsyncClient, app: FastAPI) -> None:
    cases = [
        ({}, 400),
        ({"messages": "no"}, 400),
        ({"messages": [1]}, 400),
        ({"messages": [{"role": "wizard", "content": "x"}]}, 400),
        ({"messages": [{"content": "x"}]}, 400),
        ({"messages": [], "workspace": 5}, 400),
        ({"messages": [], "title": ["x"]}, 400),
    ]
    for body, status in cases:
        response = await client.post("/api/session/import", json=body)
        assert response.status_code == status, (body, response.text)
        assert "error" in response.json()
    assert await session_rows(app) == 0
