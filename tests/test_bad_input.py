"""Bad input everywhere gets a JSON 4xx, never a 500; concurrent calls stay consistent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.support import chat_session, listed_ids, new_draft, session_rows
from threadline.web.app import create_app

POST_ENDPOINTS = [
    "/api/session/new", "/api/session/rename", "/api/session/update", "/api/session/delete", "/api/session/pin",
    "/api/session/archive", "/api/session/move", "/api/session/clear", "/api/session/truncate",
    "/api/session/retry", "/api/session/undo", "/api/session/duplicate", "/api/session/import",
    "/api/projects/create", "/api/projects/rename", "/api/projects/delete", "/api/settings",
]
NEEDS_SESSION = [p for p in POST_ENDPOINTS if p.startswith("/api/session/") and p not in (
    "/api/session/new", "/api/session/import")]
JSON_HEADERS = {"content-type": "application/json"}


@pytest.mark.parametrize("path", POST_ENDPOINTS)
async def test_malformed_json_is_400(client: httpx.AsyncClient, path: str) -> None:
    for raw in (b"{not json", b'{"session_id": "abc",}', b"\xff\xfe\x00", b'{"a": 1} trailing', b"[1, 2"):
        response = await client.post(path, content=raw, headers=JSON_HEADERS)
        assert response.status_code == 400, (path, raw, response.text)
        assert response.json() == {"error": "request body is not valid JSON"}


@pytest.mark.parametrize("path", POST_ENDPOINTS)
async def test_wrong_shapes_are_4xx(client: httpx.AsyncClient, path: str) -> None:
    for body in ([], [1, 2], "text", 42, None, {"session_id": 5}, {"session_id": ["x"]}, {"session_id": {}},
                 {"session_id": None}, {"session_id": "x" * 100}):
        if path == "/api/session/new" and (body is None or isinstance(body, dict)):
            continue  # the body is optional and unknown keys are ignored
        response = await client.post(path, json=body)
        assert 400 <= response.status_code < 500, (path, body, response.text)
        assert "error" in response.json()


async def test_json_sent_with_another_content_type(client: httpx.AsyncClient) -> None:
    session_id = await new_draft(client)
    response = await client.post(
        "/api/session/rename", content=f'{{"session_id": "{session_id}", "title": "x"}}',
        headers={"content-type": "text/plain"},
    )
    assert response.status_code == 400
    assert "application/json" in response.json()["error"]


async def test_session_new_accepts_an_empty_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/session/new")
    assert response.status_code == 200
    assert response.json()["session"]["is_draft"] is True


@pytest.mark.parametrize("path", NEEDS_SESSION)
async def test_unknown_and_traversal_ids_are_404(client: httpx.AsyncClient, app: FastAPI, path: str) -> None:
    extra = {"title": "x", "keep_count": 1, "project_id": None}
    for session_id in ("0123456789ab", "../../etc/passwd", "..", "a/b", "A1", "x;y", "%00", "\u00e9t\u00e9"):
        response = await client.post(path, json={"session_id": session_id, **extra})
        if path == "/api/session/delete":
            assert response.status_code in (200, 404), (path, session_id)
            assert response.json().get("deleted") in (False, None)
        else:
            assert response.status_code == 404, (path, session_id, response.text)
        assert "error" in response.json() or response.json().get("ok")
    assert await session_rows(app) == 0


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await new_draft(client)
    body = b'{"session_id": "' + session_id.encode() + b'", "title": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    response = await client.post("/api/session/rename", content=body, headers=JSON_HEADERS)
    assert response.status_code == 413
    assert response.json() == {"error": f"request body exceeds {20 * 1024 * 1024} bytes"}
    imported = await client.post("/api/session/import", content=body, headers=JSON_HEADERS)
    assert imported.status_code == 413
    assert await session_rows(app) == 0


async def test_streamed_body_over_the_limit_is_413(home: Path) -> None:
    """No Content-Length: the limit is enforced while the body arrives."""
    app = create_app(make_settings(home, max_body_bytes=64 * 1024))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:

            async def chunks() -> AsyncIterator[bytes]:
                yield b'{"messages": [' + b'{"role": "user", "content": "xxxxxxxxxxxxxxxx"},' * 3000
                yield b'{"role": "user", "content": "end"}]}'

            response = await client.post("/api/session/import", content=chunks(), headers=JSON_HEADERS)
            assert response.status_code == 413
            assert "exceeds" in response.json()["error"]
            assert await session_rows(app) == 0
            small = await client.post("/api/session/import", json={"messages": [{"role": "user", "content": "ok"}]})
            assert small.status_code == 200


async def test_big_query_values_are_refused(client: httpx.AsyncClient) -> None:
    for params in ({"session_id": "a" * 65}, {"session_id": "abc", "msg_limit": 10**30},
                   {"session_id": "abc", "msg_before": "1e3"}):
        response = await client.get("/api/session", params=params)
        assert response.status_code == 400, params
    big_before = await client.get("/api/session", params={"session_id": "0123456789ab", "msg_before": 10**18})
    assert big_before.status_code == 404


async def test_odd_but_valid_text_is_kept(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await new_draft(client)
    titles = ("日本語のタイトル", "emoji 🧵 thread", "<script>alert(1)</script>", "nul\x00byte", "'; DROP TABLE x; --")
    for title in titles:
        response = await client.post("/api/session/rename", json={"session_id": session_id, "title": title})
        assert response.status_code == 200, title
        # NUL is stored as U+FFFD on every database (PostgreSQL text cannot hold it; store/engine.py)
        assert response.json()["session"]["title"] == " ".join(title.split()).replace("\x00", "\ufffd")


async def test_concurrent_renames(client: httpx.AsyncClient, app: FastAPI) -> None:
    """Twenty renames of one draft at once: one row, no 500, the last title wins."""
    session_id = await new_draft(client)
    responses = await asyncio.gather(*(
        client.post("/api/session/rename", json={"session_id": session_id, "title": f"title {i}"}) for i in range(20)
    ))
    assert [r.status_code for r in responses] == [200] * 20
    assert await session_rows(app) == 1
    final = (await client.get("/api/session", params={"session_id": session_id})).json()["session"]
    assert final["title"] in {f"title {i}" for i in range(20)}
    assert await listed_ids(client) == [session_id]


async def test_concurrent_appends_keep_a_dense_sequence(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await new_draft(client)
    service = app.state.services.sessions
    messages = await asyncio.gather(*(service.append_user_message(session_id, f"m{i}") for i in range(20)))
    assert sorted(m["seq"] for m in messages) == list(range(20))
    session = (await client.get("/api/session", params={"session_id": session_id})).json()["session"]
    assert session["message_count"] == 20
    assert [m["seq"] for m in session["messages"]] == list(range(20))
    assert sorted(m["content"] for m in session["messages"]) == sorted(f"m{i}" for i in range(20))


async def test_concurrent_mixed_operations(client: httpx.AsyncClient, app: FastAPI) -> None:
    ids = [await chat_session(client, app, messages=2) for _ in range(5)]
    service = app.state.services.sessions
    raised = await client.post("/api/settings", json={"pinned_sessions_limit": 5})  # every session may be pinned
    assert raised.status_code == 200, raised.text
    calls = []
    for index in range(20):
        session_id = ids[index % 5]
        calls += [
            client.post("/api/session/rename", json={"session_id": session_id, "title": f"t{index}"}),
            client.post("/api/session/pin", json={"session_id": session_id, "pinned": index % 2 == 0}),
            client.get("/api/sessions", params={"limit": 3}),
            client.get("/api/sessions/search", params={"q": "message"}),
            client.get("/api/session", params={"session_id": session_id}),
            client.post("/api/session/new", json={}),
            service.append_user_message(session_id, f"more {index}"),
        ]
    results = await asyncio.gather(*calls)
    statuses = [r.status_code for r in results if isinstance(r, httpx.Response)]
    assert statuses == [200] * len(statuses)
    counts = [(await client.get("/api/session", params={"session_id": s, "messages": 0})).json()["session"]
              ["message_count"] for s in ids]
    assert counts == [6] * 5
    assert await session_rows(app) == 5


async def test_concurrent_duplicate_and_delete(client: httpx.AsyncClient, app: FastAPI) -> None:
    source = await chat_session(client, app, messages=3)
    results = await asyncio.gather(
        *(client.post("/api/session/duplicate", json={"session_id": source}) for _ in range(10)),
        client.post("/api/session/delete", json={"session_id": source}),
    )
    assert all(r.status_code in (200, 404) for r in results), [r.text for r in results]
    copies = [r.json()["session"] for r in results[:-1] if r.status_code == 200]
    assert all(c["message_count"] == 3 for c in copies)
    assert await session_rows(app) == len(copies)
