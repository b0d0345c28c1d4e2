"""Every JSON answer, success or error, carries ``Cache-Control: no-store`` (set in one place, the
headers middleware). Walks the whole route table against a real server, so a route added later is
covered without editing this test; streams are read only as far as their headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import make_settings
from tests.runs.conftest import serve
from tests.security.conftest import PASSWORD
from tests.support import chat_session, concrete_path, route_table
from threadline.web.app import create_app

SAFE = ("GET", "HEAD")


async def answer(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """Status and headers (and the body when it is JSON); an event stream is left after its headers."""
    async with client.stream(method, path, **kwargs) as response:
        if response.headers.get("content-type", "").startswith("application/json"):
            await response.aread()
        return response


def is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").split(";")[0] == "application/json"


async def test_every_json_answer_is_no_store(home: Path) -> None:
    app = create_app(make_settings(home, max_body_bytes=4096))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=url) as local:
            session_id = await chat_session(local, app, messages=3)
        routes = sorted(route_table(app), key=lambda route: route[0])
        calls = [(m, p) for p, methods in routes for m in sorted(methods) if m in SAFE]
        calls += [(m, p) for p, methods in routes for m in sorted(methods) if m not in SAFE]  # writes last
        seen: dict[str, set[int]] = {}
        for method, route_path in calls:
            path = concrete_path(route_path)
            for arguments in ({}, {"session_id": session_id}):
                where = {"params": arguments} if method in SAFE else {"json": arguments}
                response = await answer(client, method, path, **where)
                assert response.status_code < 500, (method, route_path, response.text)
                if is_json(response):
                    status = response.status_code
                    assert response.headers.get("cache-control") == "no-store", (method, route_path, status)
                    seen.setdefault(route_path, set()).add(status)
        # Errors made by the middlewares and the router, not by a route.
        refused = [
            await answer(client, "POST", "/api/session/new", json={}, headers={"Origin": "http://evil.example"}),
            await answer(client, "POST", "/api/session/new", json={"x": "y" * 5000}),
            await answer(client, "GET", "/api/no-such-thing"),
            await answer(client, "DELETE", "/api/sessions"),
        ]
    assert [r.status_code for r in refused] == [403, 413, 404, 405]
    for response in refused:
        assert is_json(response) and response.headers["cache-control"] == "no-store", response.request.url
    successes = {path for path, statuses in seen.items() if any(200 <= s < 300 for s in statuses)}
    errors = {path for path, statuses in seen.items() if any(s >= 400 for s in statuses)}
    assert len(successes) >= 15 and len(errors) >= 30, (sorted(successes), sorted(errors))
    assert {"/api/sessions", "/api/settings", "/api/models", "/health"} <= successes


async def test_the_login_refusal_is_no_store(home: Path) -> None:
    app = create_app(make_settings(home, password=PASSWORD))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        for response in (await client.get("/api/sessions"), await client.post("/api/auth/login", json={})):
            assert response.status_code in (400, 401)
            assert response.headers["cache-control"] == "no-store"
