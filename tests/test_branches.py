"""Messages as a tree: truncate, retry and undo keep what they take off the active path, switching
versions, paging on the active path, search, export, import and duplicate of every version."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, update

from tests.support import add_messages, chat_session
from threadline.sessions.rows import NewMessage
from threadline.store import tables as t


async def get_session(client: httpx.AsyncClient, session_id: str, **params: object) -> dict[str, Any]:
    response = await client.get("/api/session", params={"session_id": session_id, **params})
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()["session"]
    return session


async def switch(client: httpx.AsyncClient, session_id: str, message_id: int, **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/session/branch", json={"session_id": session_id, "message_id": message_id,
                                                              **extra})
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()["session"]
    return session


def texts(session: dict[str, Any]) -> list[str]:
    return [m["content"] for m in session["messages"]]


async def edit(client: httpx.AsyncClient, app: FastAPI, session_id: str, keep: int, count: int, text: str) -> None:
    """What "edit and resend" does without a model: keep ``keep`` messages, then append new ones."""
    response = await client.post("/api/session/truncate", json={"session_id": session_id, "keep_count": keep})
    assert response.status_code == 200, response.text
    await add_messages(app, session_id, count, text=text, roles=("user", "assistant") if keep % 2 == 0
                       else ("assistant", "user"))


async def test_truncate_keeps_the_rest_as_a_version(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=6)
    original = texts(await get_session(client, session_id))
    await edit(client, app, session_id, 2, 2, "edited")
    session = await get_session(client, session_id)
    assert texts(session) == [*original[:2], "edited 0", "edited 1"] and session["message_count"] == 4
    old, new = session["messages"][2]["sibling_ids"], session["messages"][2]
    assert len(old) == 2 and new["sibling_index"] == 1 and new["parent_id"] == session["messages"][1]["id"]
    assert "sibling_ids" not in session["messages"][3]
    # Back to the first version: the whole of it, as it was.
    back = await switch(client, session_id, old[0])
    assert texts(back) == original and back["message_count"] == 6
    assert back["messages"][2]["sibling_index"] == 0
    assert [m["seq"] for m in back["messages"]] == list(range(6))
    forward = await switch(client, session_id, old[1])
    assert texts(forward) == texts(session)


async def test_switching_returns_to_the_versions_shown_last(client: httpx.AsyncClient, app: FastAPI) -> None:
    """Below the message switched to, each step follows the version that was on the path last."""
    session_id = await chat_session(client, app, messages=4)  # A B C D
    await edit(client, app, session_id, 1, 3, "second")  # A B' C' D'
    await edit(client, app, session_id, 2, 2, "third")  # A B' C'' D''
    b_prime = (await get_session(client, session_id))["messages"][1]
    c_versions = (await get_session(client, session_id))["messages"][2]["sibling_ids"]
    assert len(c_versions) == 2
    await switch(client, session_id, c_versions[0])  # A B' C' D'
    first = await switch(client, session_id, b_prime["sibling_ids"][0])  # A B C D
    assert texts(first)[1:] == ["message 0", "message 1", "message 2"]
    again = await switch(client, session_id, b_prime["id"])
    assert texts(again)[1:] == ["second 0", "second 1", "second 2"]  # C', not the newer C''
    # A message already on the path changes nothing.
    assert texts(await switch(client, session_id, again["messages"][2]["id"])) == texts(again)


async def test_undo_keeps_the_turn_and_can_bring_it_back(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=4, first="question one")
    full = await get_session(client, session_id)
    assert full["branches_after"] is None
    undo = await client.post("/api/session/undo", json={"session_id": session_id})
    assert undo.json() == {"ok": True, "removed_count": 2, "removed_preview": "message 1"}
    session = await get_session(client, session_id)
    assert session["message_count"] == 2
    assert session["branches_after"] == {"count": 1, "message_id": full["messages"][2]["id"]}
    assert (await get_session(client, session_id, msg_limit=1, msg_before=1)).get("branches_after") is None
    restored = await switch(client, session_id, session["branches_after"]["message_id"])
    assert texts(restored) == texts(full) and restored["branches_after"] is None
    # Truncating to nothing keeps everything too; the next message is a new first message.
    await client.post("/api/session/truncate", json={"session_id": session_id, "keep_count": 0})
    empty = await get_session(client, session_id)
    assert empty["messages"] == [] and empty["branches_after"]["count"] == 1
    await add_messages(app, session_id, 1, text="fresh start")
    fresh = await get_session(client, session_id)
    assert texts(fresh) == ["fresh start 0"] and fresh["messages"][0]["sibling_count"] == 2
    assert fresh["messages"][0]["parent_id"] is None


async def test_paging_reads_the_active_path_only(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=40)
    for keep in (5, 12, 20, 33):  # four edits, each leaving the rest of the path as an old version
        await edit(client, app, session_id, keep, 40 - keep, f"v{keep}")
    full = await get_session(client, session_id)
    assert full["message_count"] == 40 and [m["seq"] for m in full["messages"]] == list(range(40))
    parents = [m["parent_id"] for m in full["messages"]]
    assert parents == [None, *[m["id"] for m in full["messages"][:-1]]]
    page = await get_session(client, session_id, msg_limit=10, msg_before=25)
    assert page["messages"] == full["messages"][15:25]
    assert page["_messages_offset"] == 15 and page["_messages_truncated"] is True
    last = await get_session(client, session_id, msg_limit=7)
    assert last["messages"] == full["messages"][33:] and last["_messages_offset"] == 33
    # Every message was kept: 40 on the path, and the four old versions.
    async with app.state.services.store.read() as conn:
        from threadline.sessions.branches import count_rows
        assert await count_rows(conn, session_id) == 40 + (40 - 5) + (40 - 12) + (40 - 20) + (40 - 33)


async def test_a_page_is_one_range_of_the_position_index(tmp_path: Path, client: httpx.AsyncClient,
                                                          app: FastAPI) -> None:
    """``GET /api/session`` with ``msg_limit``/``msg_before`` reads one range of
    ``uq_messages_session_position``, never the rest of the tree (SQLite's plan for the SQL it sends)."""
    store = app.state.services.store
    if not store.is_sqlite:
        pytest.skip("query plans are checked on SQLite")
    session_id = await chat_session(client, app, messages=30)
    await edit(client, app, session_id, 10, 20, "b")
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM messages" in statement:
            sent.append((statement, parameters))

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        await get_session(client, session_id, msg_limit=5, msg_before=20)
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)
    page = sent[0]
    assert "position" in page[0]
    database = store.engine.url.database
    with sqlite3.connect(database) as db:
        plan = " ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + page[0], page[1]))
    assert "USING INDEX sqlite_autoindex_messages" in plan or "uq_messages_session_position" in plan, plan
    assert "TEMP B-TREE" not in plan and "SCAN" not in plan, plan
    siblings = " ".join(row[-1] for row in sqlite3.connect(database).execute(
        "EXPLAIN QUERY PLAN " + sent[1][0], sent[1][1]))
    assert "ix_messages_parent" in siblings, siblings


async def test_appending_is_one_insert_and_one_update_on_a_branched_session(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    service = app.state.services.sessions
    session_id = await chat_session(client, app, messages=20)
    await edit(client, app, session_id, 3, 10, "b")
    await edit(client, app, session_id, 7, 10, "c")
    writes: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        verb = statement.lstrip().split(" ", 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    event.listen(service.store.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with service.store.write() as conn:
            await service.append_message(conn, session_id, NewMessage(role="user", content="one more"))
    finally:
        event.remove(service.store.engine.sync_engine, "before_cursor_execute", record)
    assert [w.split()[0].upper() for w in writes] == ["INSERT", "UPDATE"], writes
    session = await get_session(client, session_id, msg_limit=2)
    assert session["messages"][-1]["content"] == "one more" and session["message_count"] == 18
    assert session["messages"][-1]["parent_id"] == session["messages"][-2]["id"]


async def test_search_finds_text_on_another_version(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=2, first="the original zebra question", title="Zoo")
    await edit(client, app, session_id, 0, 2, "a question about giraffes")
    found = (await client.get("/api/sessions/search", params={"q": "zebra"})).json()
    assert [(s["session_id"], s["match_type"], s["on_active_path"]) for s in found["sessions"]] == [
        (session_id, "content", False)]
    assert "«zebra»" in found["sessions"][0]["snippet"]
    versions = (await client.get("/api/session/branches", params={
        "session_id": session_id, "message_id": found["sessions"][0]["message_id"]})).json()
    assert [v["active"] for v in versions["versions"]] == [False, True]
    shown = (await client.get("/api/sessions/search", params={"q": "giraffes"})).json()["sessions"]
    assert [s["on_active_path"] for s in shown] == [True]


async def test_export_and_import_keep_every_version(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=4, first="first words", title="Versions")
    await edit(client, app, session_id, 2, 2, "second try")
    await client.post("/api/session/undo", json={"session_id": session_id})  # the second try is kept too
    shown = await get_session(client, session_id)
    exported = json.loads((await client.get("/api/session/export", params={"session_id": session_id})).content)
    assert texts(exported) == texts(shown) == ["first words", "message 0"]
    assert sorted(m["content"] for m in exported["branches"]) == ["message 1", "message 2", "second try 0",
                                                                   "second try 1"]
    assert all("parent_id" in m for m in exported["messages"] + exported["branches"])

    markdown = (await client.get("/api/session/export", params={"session_id": session_id, "format": "md"})).text
    main, _, others = markdown.partition("# Other versions")
    assert "first words" in main and "second try" not in main and "message 1" not in main
    assert "## Version 1: after message 2, the last one above" in others
    assert "## Version 2: after message 2, the last one above" in others
    bodies = [f"\n{text}\n" for text in ("message 1", "message 2", "second try 0", "second try 1")]
    assert [others.index(body) for body in bodies] == sorted(others.index(body) for body in bodies)
    assert "### User" in others and "### Assistant" in others

    # Importing the export rebuilds the tree under new ids.
    imported = (await client.post("/api/session/import", json=exported)).json()["session"]
    assert texts(imported) == texts(shown) and imported["branches_after"]["count"] == 2
    again = json.loads((await client.get("/api/session/export",
                                         params={"session_id": imported["session_id"]})).content)
    assert sorted(m["content"] for m in again["branches"]) == sorted(m["content"] for m in exported["branches"])
    restored = await switch(client, imported["session_id"], imported["branches_after"]["message_id"])
    assert texts(restored) == ["first words", "message 0", "second try 0", "second try 1"]
    assert restored["messages"][2]["sibling_count"] == 2


async def test_import_checks_the_tree(client: httpx.AsyncClient) -> None:
    path = [{"id": 1, "parent_id": None, "role": "user", "content": "a"},
            {"id": 2, "parent_id": 1, "role": "assistant", "content": "b"}]
    cases = {
        "missing id": [{"parent_id": 1, "role": "user", "content": "c"}],
        "unknown parent": [{"id": 3, "parent_id": 99, "role": "user", "content": "c"}],
        "duplicate id": [{"id": 2, "parent_id": 1, "role": "user", "content": "c"}],
        "cycle": [{"id": 3, "parent_id": 4, "role": "user", "content": "c"},
                  {"id": 4, "parent_id": 3, "role": "user", "content": "d"}],
        "not a list": "nope",
    }
    for name, branches in cases.items():
        response = await client.post("/api/session/import", json={"messages": path, "branches": branches})
        assert response.status_code == 400, name
        assert "error" in response.json()
    broken_path = [path[0], {**path[1], "parent_id": None}]
    response = await client.post("/api/session/import", json={
        "messages": broken_path, "branches": [{"id": 3, "parent_id": 1, "role": "assistant", "content": "c"}]})
    assert response.status_code == 400 and "path" in response.json()["error"]
    assert (await client.get("/api/sessions")).json()["sessions"] == []
    ok = await client.post("/api/session/import", json={
        "messages": path, "branches": [{"id": 3, "parent_id": 1, "role": "assistant", "content": "c"}]})
    assert ok.status_code == 200 and ok.json()["session"]["messages"][1]["sibling_count"] == 2


async def test_duplicate_copies_every_version(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=4, title="Tree")
    await edit(client, app, session_id, 2, 2, "other")
    source = await get_session(client, session_id)
    copy = (await client.post("/api/session/duplicate", json={"session_id": session_id})).json()["session"]
    copied = await get_session(client, copy["session_id"])
    assert texts(copied) == texts(source) and copied["message_count"] == 4
    assert copied["messages"][2]["sibling_count"] == 2
    assert not {m["id"] for m in copied["messages"]} & {m["id"] for m in source["messages"]}
    old = await switch(client, copy["session_id"], copied["messages"][2]["sibling_ids"][0])
    assert texts(old)[2:] == ["message 1", "message 2"]
    assert texts(await get_session(client, session_id)) == texts(source)  # the original did not move
    # The copy appends after its own leaf.
    await add_messages(app, copy["session_id"], 1, text="after")
    assert (await get_session(client, copy["session_id"]))["messages"][-1]["parent_id"] == old["messages"][-1]["id"]


async def test_branch_errors(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=2)
    other = await chat_session(client, app, messages=2)
    foreign = (await get_session(client, other))["messages"][0]["id"]
    mine = (await get_session(client, session_id))["messages"][0]["id"]
    draft = (await client.post("/api/session/new", json={})).json()["session"]["session_id"]
    cases = [
        ({"session_id": session_id, "message_id": foreign}, 404),
        ({"session_id": session_id, "message_id": 10**12}, 404),
        ({"session_id": "0123456789ab", "message_id": mine}, 404),
        ({"session_id": draft, "message_id": mine}, 404),
        ({"session_id": session_id}, 400),
        ({"session_id": session_id, "message_id": 0}, 400),
        ({"session_id": session_id, "message_id": "x"}, 400),
        ({"session_id": session_id, "message_id": 2**63}, 400),
        ({"session_id": session_id, "message_id": mine, "msg_limit": 0}, 400),
    ]
    for body, status in cases:
        response = await client.post("/api/session/branch", json=body)
        assert response.status_code == status, (body, response.text)
        assert "error" in response.json()
        if "msg_limit" not in body:
            listing = await client.get("/api/session/branches", params=body)
            assert listing.status_code == status, (body, listing.text)
    assert (await client.get("/api/sessions")).json()["sessions"][-1]["session_id"] in (session_id, other)
    # While a run owns the session, the path does not move.
    async with app.state.services.store.write() as conn:
        await conn.execute(update(t.sessions).where(t.sessions.c.id == session_id).values(active_run_id="r" * 32))
    busy = await client.post("/api/session/branch", json={"session_id": session_id, "message_id": mine})
    assert busy.status_code == 409 and busy.json()["active_stream_id"] == "r" * 32
    listing = await client.get("/api/session/branches", params={"session_id": session_id, "message_id": mine})
    assert listing.status_code == 200 and listing.json()["count"] == 1


async def test_hermes_sessions_import_as_single_branch_trees(tmp_path: Path, client: httpx.AsyncClient,
                                                             app: FastAPI) -> None:
    from threadline.sessions.hermes_import import HermesImporter
    from threadline.sessions.projects import ProjectService

    sessions = tmp_path / "hermes" / "sessions"
    sessions.mkdir(parents=True)
    messages = [{"role": "user", "content": "hi", "timestamp": 1_761_000_000},
                {"role": "assistant", "content": "hello", "timestamp": 1_761_000_001},
                {"role": "user", "content": "bye", "timestamp": 1_761_000_002}]
    (sessions / "abcdef012345.json").write_text(json.dumps({
        "session_id": "abcdef012345", "title": "From Hermes", "workspace": "/tmp", "created_at": 1_761_000_000,
        "updated_at": 1_761_000_002, "messages": messages}))
    service = app.state.services.sessions
    report = await HermesImporter(service, ProjectService(service.store), batch_size=2).run(sessions)
    assert report.exit_code == 0 and report.imported == ["abcdef012345"]
    session = await get_session(client, "abcdef012345")
    assert texts(session) == ["hi", "hello", "bye"]
    assert [m["parent_id"] for m in session["messages"]] == [None, *[m["id"] for m in session["messages"][:-1]]]
    assert not any("sibling_count" in m for m in session["messages"]) and session["branches_after"] is None
    await add_messages(app, "abcdef012345", 1, text="after import", roles=("assistant",))
    assert (await get_session(client, "abcdef012345"))["messages"][-1]["parent_id"] == session["messages"][-1]["id"]
