"""Values that would poison a row are refused at the boundary, and what is stored never breaks a
response (issue 10 items 6 and 7): lone surrogates and non-finite numbers in any field, numbers out
of range, cursors and sequence numbers that overflow, API keys an HTTP header cannot carry, and
timestamps far in the future."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select

from tests.conftest import make_settings
from tests.support import chat_session, listed_ids, new_draft, session_rows
from threadline.store import tables as t
from threadline.web.app import create_app

JSON_HEADERS = {"content-type": "application/json"}
LONE = "\\ud800"  # as it is written in a JSON body
MESSAGE = '{"role": "user", "content": "hello"}'

# (path, raw JSON body): each holds a lone surrogate somewhere a str-typed field would not catch it.
SURROGATE_BODIES = {
    "import extra": ("/api/session/import", f'{{"messages": [{MESSAGE}], "extra": {{"k": "{LONE}"}}}}'),
    "import extra key": ("/api/session/import", f'{{"messages": [{MESSAGE}], "extra": {{"{LONE}": 1}}}}'),
    "import unknown field": ("/api/session/import", f'{{"messages": [{MESSAGE}], "hermes": ["{LONE}"]}}'),
    "import attachments": ("/api/session/import",
                           f'{{"messages": [{{"role": "user", "content": "x", "attachments": ["{LONE}"]}}]}}'),
    "import parts": ("/api/session/import",
                     f'{{"messages": [{{"role": "user", "content": [{{"type": "text", "text": "{LONE}"}}]}}]}}'),
    "import tool calls": ("/api/session/import", '{"messages": [{"role": "assistant", "content": "", '
                          f'"tool_calls": [{{"id": "c1", "name": "x", "arguments": {{"path": "{LONE}"}}}}]}}]}}'),
    "import content": ("/api/session/import", f'{{"messages": [{{"role": "user", "content": "a{LONE}b"}}]}}'),
    "import title": ("/api/session/import", f'{{"messages": [{MESSAGE}], "title": "{LONE}"}}'),
    "settings": ("/api/settings", f'{{"bot_name": "{LONE}"}}'),
}


async def post_raw(client: httpx.AsyncClient, path: str, body: str) -> httpx.Response:
    return await client.post(path, content=body.encode(), headers=JSON_HEADERS)


@pytest.mark.parametrize("name", sorted(SURROGATE_BODIES))
async def test_a_lone_surrogate_anywhere_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, app: FastAPI, name: str
) -> None:
    path, body = SURROGATE_BODIES[name]
    before = (await client.get("/api/settings")).json()
    response = await post_raw(client, path, body)
    assert response.status_code == 400, response.text
    assert "lone surrogate" in response.json()["error"]
    assert await session_rows(app) == 0
    assert (await client.get("/api/settings")).json() == before
    assert (await client.get("/api/sessions")).status_code == 200


async def test_chat_and_session_fields_refuse_lone_surrogates(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await new_draft(client)
    for path, body in (
        ("/api/chat/start", f'{{"session_id": "{session_id}", "message": "hi", "attachments": ["{LONE}"]}}'),
        ("/api/chat/start", f'{{"session_id": "{session_id}", "message": "{LONE}"}}'),
        ("/api/session/rename", f'{{"session_id": "{session_id}", "title": "{LONE}"}}'),
    ):
        response = await post_raw(client, path, body)
        assert response.status_code == 400, (path, response.text)
        assert "lone surrogate" in response.json()["error"]
    assert await session_rows(app) == 0


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e400"])
async def test_non_finite_numbers_are_refused(client: httpx.AsyncClient, app: FastAPI, literal: str) -> None:
    for body in (f'{{"messages": [{MESSAGE}], "input_tokens": {literal}}}',
                 f'{{"messages": [{MESSAGE}], "estimated_cost": {literal}}}',
                 f'{{"messages": [{MESSAGE}], "extra": {{"n": [{literal}]}}}}',
                 f'{{"messages": [{{"role": "user", "content": "x", "timestamp": {literal}}}]}}'):
        response = await post_raw(client, "/api/session/import", body)
        assert response.status_code == 400, (body, response.text)
        assert "finite" in response.json()["error"]
    assert await session_rows(app) == 0


async def test_counts_out_of_range_are_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    for key in ("input_tokens", "output_tokens", "estimated_cost"):
        body = f'{{"messages": [{MESSAGE}], "{key}": {"9" * 30}}}'
        response = await post_raw(client, "/api/session/import", body)
        assert response.status_code == 400, response.text
        assert key in response.json()["error"]
    assert await session_rows(app) == 0
    fine = await post_raw(client, "/api/session/import", f'{{"messages": [{MESSAGE}], "input_tokens": 1234}}')
    assert fine.status_code == 200 and fine.json()["session"]["input_tokens"] == 1234


async def test_a_timestamp_in_the_far_future_does_not_pin_a_session_to_the_top(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    future = await client.post("/api/session/import", json={
        "title": "from the future", "created_at": 1e300, "updated_at": 10**30,
        "messages": [{"role": "user", "content": "hi", "timestamp": 1e300}]})
    assert future.status_code == 200, future.text
    session = future.json()["session"]
    assert max(session["created_at"], session["updated_at"], session["last_message_at"]) <= time.time()
    later = await chat_session(client, app)
    assert await listed_ids(client) == [later, session["session_id"]]  # newer activity lists first


async def test_a_cursor_that_overflows_is_a_400(client: httpx.AsyncClient) -> None:
    for raw in (b'[1e999, 1e999, "x"]', b"[0, 1e999, 1]", b'[7, 1, "x"]', b'[0, "1", "x"]', b'[0, 1, "' +
                b"x" * 100 + b'"]', b"[1, 2]", b"{}", b"\xff\xfe"):
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        response = await client.get("/api/sessions", params={"cursor": cursor})
        assert response.status_code == 400, (raw, response.text)
        assert response.json() == {"error": "invalid cursor"}


async def plant_run(app: FastAPI, session_id: str, events: list[tuple[str, dict[str, Any]]]) -> str:
    """A finished run with ``events`` in its replay log, written straight into the store."""
    run_id = "plantedrun01"
    async with app.state.services.store.write() as conn:
        await conn.execute(insert(t.runs).values(id=run_id, session_id=session_id, status="succeeded",
                                                 created_at=time.time()))
        await conn.execute(insert(t.run_events), [
            {"run_id": run_id, "seq": seq, "type": kind, "data": data, "created_at": time.time()}
            for seq, (kind, data) in enumerate(events, start=1)])
    return run_id


async def test_sequence_numbers_that_overflow_are_a_400(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app)
    run_id = await plant_run(app, session_id, [("token", {"text": "hi"}), ("stream_end", {})])
    huge = "1" * 25
    for params, headers in (({"after_seq": huge}, {}), ({}, {"Last-Event-ID": f"{run_id}:{huge}"}),
                            ({}, {"Last-Event-ID": huge})):
        response = await client.get("/api/chat/stream", params={"stream_id": run_id, **params}, headers=headers)
        assert response.status_code == 400, response.text
        assert "out of range" in response.json()["error"]
    replay = await client.get("/api/chat/stream", params={"stream_id": run_id, "after_seq": 1})
    assert replay.status_code == 200 and "event: stream_end" in replay.text and "event: token" not in replay.text


async def test_a_row_with_lone_surrogates_planted_in_the_store_still_lists_exports_and_streams(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Rows written before the boundary refused them (or by another program) must not break reads."""
    session_id = await chat_session(client, app, title="planted")
    async with app.state.services.store.write() as conn:
        await conn.execute(t.sessions.update().where(t.sessions.c.id == session_id).values(
            extra={"k": "bad \ud800 text", "\udc00": 1}, estimated_cost=float("inf")))
        await conn.execute(t.messages.update().where(t.messages.c.session_id == session_id).values(
            parts=[{"type": "text", "text": "x\ud800"}], tool_calls=[{"id": "c\udc00", "name": "n"}, "odd"],
            meta={"attachments": ["\ud800.txt"]}, created_at=1e300))
    run_id = await plant_run(app, session_id, [("token", {"text": "a\ud800b"}), ("stream_end", {})])

    listed = await client.get("/api/sessions")
    assert listed.status_code == 200 and session_id in listed.text
    assert listed.json()["sessions"][0]["extra"]["k"] == "bad \ufffd text"
    got = await client.get("/api/session", params={"session_id": session_id})
    assert got.status_code == 200 and got.json()["session"]["messages"][0]["content"][0]["text"] == "x\ufffd"
    for format in ("json", "md"):
        exported = await client.get("/api/session/export", params={"session_id": session_id, "format": format})
        assert exported.status_code == 200, exported.text
        assert "\ufffd" in exported.content.decode("utf-8")
    assert json.loads((await client.get("/api/session/export", params={"session_id": session_id})).content)[
        "estimated_cost"] is None
    stream = await client.get("/api/chat/stream", params={"stream_id": run_id})
    assert stream.status_code == 200
    assert 'data: {"text":"a\ufffdb"}' in stream.content.decode("utf-8") and "event: stream_end" in stream.text
    search = await client.get("/api/sessions/search", params={"q": "planted"})
    assert search.status_code == 200 and session_id in search.text


async def test_an_api_key_that_cannot_be_sent_is_refused(client: httpx.AsyncClient) -> None:
    before = (await client.get("/api/providers")).json()
    for key in ("clé-secrète", "sk-abc\u200bdef", "line\nbreak", "😀"):
        body = {"id": "mine", "kind": "openai", "api_key": key, "base_url": "http://127.0.0.1:9/v1"}
        for path in ("/api/providers/test", "/api/providers"):
            response = await client.post(path, json=body)
            assert response.status_code == 400, (path, key, response.text)
            assert "api_key" in response.json()["error"]
    assert (await client.get("/api/providers")).json() == before
    assert (await client.get("/api/models")).status_code == 200


async def test_a_stored_key_that_cannot_be_sent_fails_only_its_provider(home: Path) -> None:
    """A key saved by an older version (or set in the environment) must not take /api/models down."""
    settings = make_settings(home)
    settings.providers_file.write_text(json.dumps({"providers": [
        {"id": "bad", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "clé", "models": None}]}))
    app = create_app(settings, env={"ANTHROPIC_API_KEY": "ключ"})
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            models = await client.get("/api/models")
            assert models.status_code == 200, models.text
            errors = {g["id"]: g["error"] for g in models.json()["providers"]}
            assert "HTTP header" in errors["bad"] and "HTTP header" in errors["anthropic"]
            tested = await client.post("/api/providers/test", json={"id": "bad", "kind": "openai"})
            assert tested.status_code == 400 and "api_key" in tested.json()["error"]
            assert (await client.get("/api/providers")).status_code == 200


async def test_stored_rows_read_back_unchanged(client: httpx.AsyncClient, app: FastAPI) -> None:
    """Valid non-ASCII text (astral characters, U+FFFD itself) is kept exactly."""
    text = "emoji 🧵 and a replacement char \ufffd and 日本語"
    imported = await client.post("/api/session/import", json={"messages": [{"role": "user", "content": text}],
                                                               "extra": {"k": text}})
    assert imported.status_code == 200
    session_id = imported.json()["session"]["session_id"]
    async with app.state.services.store.read() as conn:
        stored = (await conn.execute(select(t.messages.c.content).where(t.messages.c.session_id == session_id)))
        assert stored.scalar_one() == text
    assert (await client.get("/api/session", params={"session_id": session_id})).json()["session"]["extra"] == {
        "k": text}
