"""Hermes WebUI's session extras (issue 17 items 4 and 5), with its request and response shapes:
``server_time``/``server_tz`` in the list, ``/api/session/status`` and ``/usage``, the pin cap,
``/api/commands``, and onboarding (``setup`` refused from a public address unless signed in)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.support import chat_session, new_draft
from threadline.sessions.commands import COMMANDS
from threadline.web.app import create_app
from threadline.web.routes.onboarding import is_local_address


async def test_the_list_carries_the_server_clock(client: httpx.AsyncClient) -> None:
    before = time.time()
    body = (await client.get("/api/sessions")).json()
    assert before <= body["server_time"] <= time.time()
    ZoneInfo(body["server_tz"])  # an IANA name
    assert body["cli_count"] == 0 and body["sessions"] == []


async def test_status_and_usage_answer_with_hermes_fields(client: httpx.AsyncClient, app: FastAPI) -> None:
    sid = await chat_session(client, app, title="Totals", messages=4)
    async with app.state.services.store.write() as conn:
        await app.state.services.sessions.set_row(conn, sid, input_tokens=1200, output_tokens=34, estimated_cost=0.5)
    status = (await client.get("/api/session/status", params={"session_id": sid})).json()
    for key in ("title", "model", "workspace", "personality", "message_count", "agent_running", "input_tokens",
                "output_tokens", "total_tokens", "estimated_cost"):
        assert key in status, key
    assert status["title"] == "Totals" and status["message_count"] == 4 and status["agent_running"] is False
    assert (status["input_tokens"], status["output_tokens"], status["total_tokens"]) == (1200, 34, 1234)
    assert status["yolo"] is False and status["personality"] is None
    usage = (await client.get("/api/session/usage", params={"session_id": sid})).json()
    assert usage == {"ok": True, "session_id": sid, "input_tokens": 1200, "output_tokens": 34, "total_tokens": 1234,
                     "estimated_cost": 0.5}

    draft = await new_draft(client)
    assert (await client.get("/api/session/usage", params={"session_id": draft})).json()["total_tokens"] == 0
    for path in ("/api/session/status", "/api/session/usage"):
        missing = await client.get(path)
        assert 400 <= missing.status_code < 500 and missing.json()["error"]
        unknown = await client.get(path, params={"session_id": "nosuchsession"})
        assert unknown.status_code == 404 and unknown.json()["error"]


async def test_the_pin_cap_is_three_by_default(client: httpx.AsyncClient, app: FastAPI) -> None:
    ids = [await chat_session(client, app, title=f"chat {i}") for i in range(5)]
    for sid in ids[:3]:
        assert (await client.post("/api/session/pin", json={"session_id": sid})).status_code == 200
    r = await client.post("/api/session/pin", json={"session_id": ids[3], "pinned": True})
    assert r.status_code == 400 and "at most 3" in r.json()["error"]
    session = (await client.get("/api/session", params={"session_id": ids[3], "messages": 0})).json()["session"]
    assert session["pinned"] is False  # nothing changed
    assert (await client.post("/api/session/pin", json={"session_id": ids[0], "pinned": True})).status_code == 200
    assert (await client.post("/api/session/pin", json={"session_id": ids[0], "pinned": False})).status_code == 200
    assert (await client.post("/api/session/pin", json={"session_id": ids[3]})).status_code == 200
    await client.post("/api/session/archive", json={"session_id": ids[1]})  # an archived pin does not count
    assert (await client.post("/api/session/pin", json={"session_id": ids[4]})).status_code == 200


async def test_the_pin_cap_follows_the_preference(client: httpx.AsyncClient, app: FastAPI) -> None:
    ids = [await chat_session(client, app, title=f"chat {i}") for i in range(5)]
    for value, expected in ((1, [200, 400, 400, 400, 400]), (5, [200] * 5)):
        assert (await client.post("/api/settings", json={"pinned_sessions_limit": value})).status_code == 200
        for sid in ids:
            await client.post("/api/session/pin", json={"session_id": sid, "pinned": False})
        answers = [(await client.post("/api/session/pin", json={"session_id": sid})).status_code for sid in ids]
        assert answers == expected


async def test_commands_are_the_composers_registry(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/commands")).json()
    names = [c["name"] for c in body["commands"]]
    assert names == [c.name for c in COMMANDS]
    assert {"new", "clear", "retry", "undo", "steer", "queue", "interrupt", "btw", "background", "model", "title",
            "status", "usage", "yolo", "help"} <= set(names)
    steer = next(c for c in body["commands"] if c["name"] == "steer")
    assert steer == {"name": "steer", "description": steer["description"], "args": "<message>", "aliases": [],
                     "busy": True, "where": "client", "usage": "/steer <message>"}
    source = (Path(__file__).parents[1] / "src/threadline/web/static/js/commands.js").read_text()
    for name in names:  # the page has a handler for each one
        assert f"\n  {name}," in source or f"\n  {name}:" in source, name


async def test_onboarding_status_setup_and_complete(client: httpx.AsyncClient) -> None:
    status = (await client.get("/api/onboarding/status")).json()
    assert status == {"completed": False, "needs_setup": True, "setup_allowed": True, "auth_enabled": False,
                      "providers": [], "default_model": None}
    r = await client.post("/api/onboarding/setup", json={"provider": "openai", "api_key": "sk-test-0123456789abcdef",
                                                           "base_url": "http://127.0.0.1:9/v1", "model": "gpt-x"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] and body["provider"] == "openai" and body["default_model"] == "openai/gpt-x"
    assert "0123456789abcdef" not in r.text  # the key comes back masked
    status = (await client.get("/api/onboarding/status")).json()
    assert status["needs_setup"] is False and status["completed"] is False
    assert (await client.post("/api/onboarding/complete")).json() == {"ok": True, "completed": True}
    assert (await client.get("/api/onboarding/status")).json()["completed"] is True
    assert (await client.get("/api/settings")).json()["onboarding_done"] is True


async def test_onboarding_setup_refuses_bad_bodies_and_changes_nothing(client: httpx.AsyncClient) -> None:
    for body in ({"base_url": "ftp://x"}, {"provider": "openai", "api_key": 5}, {"id": "bad id!"},
                 {"provider": "openai", "model": ""}, {"provider": "openai", "model": "x" * 301}):
        r = await client.post("/api/onboarding/setup", json=body)
        assert 400 <= r.status_code < 500 and r.json()["error"], body
    status = (await client.get("/api/onboarding/status")).json()
    assert status["providers"] == [] and status["default_model"] is None


@pytest.fixture
async def public_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A caller from a public address (the connection's own, as a trusted proxy would pass it on)."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as c:
        yield c


async def test_onboarding_setup_is_refused_from_a_public_address(public_client: httpx.AsyncClient) -> None:
    status = (await public_client.get("/api/onboarding/status")).json()
    assert status["setup_allowed"] is False
    r = await public_client.post("/api/onboarding/setup", json={"provider": "openai", "api_key": "sk-public-123456"},
                                 headers={"X-Forwarded-For": "127.0.0.1"})  # a client's own header counts for nothing
    assert r.status_code == 403 and "private network" in r.json()["error"]
    assert (await public_client.get("/api/onboarding/status")).json()["providers"] == []


async def test_onboarding_open_lets_a_public_caller_set_up(home: Path) -> None:
    app = create_app(make_settings(home, onboarding_open=True))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as c:
            r = await c.post("/api/onboarding/setup", json={"provider": "openai", "api_key": "sk-public-123456"})
            assert r.status_code == 200, r.text


@pytest.mark.parametrize(("host", "local"), [
    ("127.0.0.1", True), ("::1", True), ("10.1.2.3", True), ("172.16.0.9", True), ("192.168.1.20", True),
    ("fd00::1", True), ("fe80::1%eth0", True), ("169.254.1.1", True), ("::ffff:192.168.0.5", True), (None, True),
    ("203.0.113.7", False), ("8.8.8.8", False), ("2001:4860::8888", False), ("::ffff:8.8.8.8", False),
    ("not-an-address", False), ("", False),
])
def test_the_address_rule(host: str | None, local: bool) -> None:
    assert is_local_address(host) is local
