"""The memory API (Hermes WebUI's paths): read, write, history, undo, per project; bad input refused
with nothing changed."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from tests.support import new_draft
from threadline.store import tables as t


async def test_write_read_history_and_undo(client: httpx.AsyncClient) -> None:
    empty = (await client.get("/api/memory")).json()
    assert empty["memory"] == "" and empty["user"] == "" and empty["memory_mtime"] is None
    assert empty["memory_limit"] == 2200 and empty["user_limit"] == 1375
    r = await client.post("/api/memory/write", json={"section": "memory", "content": "uses vim\n§\nprefers tea"})
    assert r.status_code == 200, r.text
    assert r.json()["memory"] == "uses vim\n§\nprefers tea" and r.json()["memory_entries"] == 2
    await client.post("/api/memory/write", json={"section": "user", "content": "Name: Ada"})
    await client.post("/api/memory/write", json={"section": "memory", "content": "uses emacs"})
    got = (await client.get("/api/memory")).json()
    assert (got["memory"], got["user"], got["memory_revision"]) == ("uses emacs", "Name: Ada", 2)
    assert isinstance(got["memory_mtime"], float) and isinstance(got["user_mtime"], float)
    history = (await client.get("/api/memory/history", params={"section": "memory"})).json()["revisions"]
    assert [(h["revision"], h["content"], h["source"]) for h in history] == [
        (2, "uses emacs", "api"), (1, "uses vim\n§\nprefers tea", "api")]
    undone = (await client.post("/api/memory/undo", json={"section": "memory"})).json()
    assert undone["memory"] == "uses vim\n§\nprefers tea" and undone["memory_revision"] == 3
    restored = (await client.post("/api/memory/undo", json={"section": "memory", "revision": 0})).json()
    assert restored["memory"] == "" and restored["user"] == "Name: Ada"
    # Saving the same text again is no new revision.
    again = (await client.post("/api/memory/write", json={"section": "user", "content": "Name: Ada"})).json()
    assert again["user_revision"] == 1


async def test_a_stale_save_is_refused_and_changes_nothing(client: httpx.AsyncClient) -> None:
    await client.post("/api/memory/write", json={"section": "memory", "content": "first"})
    await client.post("/api/memory/write", json={"section": "memory", "content": "second"})
    r = await client.post("/api/memory/write", json={"section": "memory", "content": "from an old tab",
                                                       "expected_revision": 1})
    assert r.status_code == 409 and r.json()["revision"] == 2
    assert (await client.get("/api/memory")).json()["memory"] == "second"
    ok = await client.post("/api/memory/write", json={"section": "memory", "content": "third", "expected_revision": 2})
    assert ok.status_code == 200 and ok.json()["memory"] == "third"


async def test_bad_input_is_refused_and_changes_nothing(client: httpx.AsyncClient) -> None:
    await client.post("/api/memory/write", json={"section": "memory", "content": "kept"})
    bad = [
        ({"section": "notes", "content": "x"}, 400, "section must be one of memory, user"),
        ({"section": "memory", "content": "x" * 100_001}, 400, "content"),
        ({"section": "memory"}, 400, "content"),
        ({"section": "memory", "content": 12}, 400, "content"),
        ({"section": "memory", "content": "x", "project_id": "nope"}, 404, "project not found"),
        ({"section": "memory", "content": "x", "expected_revision": -1}, 400, "expected_revision"),
    ]
    for body, status, message in bad:
        r = await client.post("/api/memory/write", json=body)
        assert r.status_code == status, (body, r.text)
        assert message in r.json()["error"], (body, r.json())
    r = await client.post("/api/memory/write", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert (await client.post("/api/memory/undo", json={"section": "user"})).json()["error"] == "nothing to undo"
    r = await client.post("/api/memory/undo", json={"section": "memory", "revision": 5})
    assert r.status_code == 400 and "not an earlier one" in r.json()["error"]
    assert (await client.get("/api/memory/history", params={"section": "x"})).status_code == 400
    state = (await client.get("/api/memory")).json()
    assert (state["memory"], state["memory_revision"], state["user"]) == ("kept", 1, "")


async def test_project_memory_is_apart_and_has_no_user_profile(client: httpx.AsyncClient, app: FastAPI) -> None:
    project = (await client.post("/api/projects/create", json={"name": "Garden"})).json()["project"]["project_id"]
    await client.post("/api/memory/write", json={"section": "memory", "content": "shared note"})
    await client.post("/api/memory/write", json={"section": "user", "content": "Name: Ada"})
    r = await client.post("/api/memory/write", json={"section": "memory", "content": "tomatoes in bed 2",
                                                       "project_id": project})
    assert r.status_code == 200
    scoped = (await client.get("/api/memory", params={"project_id": project})).json()
    assert (scoped["project_id"], scoped["memory"], scoped["user"]) == (project, "tomatoes in bed 2", "Name: Ada")
    assert (await client.get("/api/memory")).json()["memory"] == "shared note"
    r = await client.post("/api/memory/write", json={"section": "user", "content": "x", "project_id": project})
    assert r.status_code == 400 and "per project" in r.json()["error"]
    assert (await client.get("/api/memory", params={"project_id": "missing"})).status_code == 404
    await new_draft(client)  # unrelated drafts leave memory alone
    assert (await client.get("/api/memory")).json()["user"] == "Name: Ada"
    # Deleting the project deletes its memory, never the shared one.
    assert (await client.post("/api/projects/delete", json={"project_id": project})).status_code == 200
    async with app.state.services.store.read() as conn:
        left = (await conn.execute(select(t.memory_revisions.c.project_id).distinct())).scalars().all()
    assert left == [""] and (await client.get("/api/memory")).json()["memory"] == "shared note"


async def test_secrets_in_memory_are_redacted_in_answers(client: httpx.AsyncClient) -> None:
    key = "sk-proj-" + "a1B2" * 10
    r = await client.post("/api/memory/write", json={"section": "memory", "content": f"the key is {key}"})
    assert key not in r.text
    assert key not in (await client.get("/api/memory")).text
    assert key not in (await client.get("/api/memory/history", params={"section": "memory"})).text
