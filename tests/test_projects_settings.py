"""Projects CRUD (reference §2.6), preferences (``/api/settings``), health, and the OpenAPI pages."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.support import chat_session


async def test_projects_crud(client: httpx.AsyncClient, app: FastAPI) -> None:
    assert (await client.get("/api/projects")).json() == {"projects": []}
    created = await client.post("/api/projects/create", json={"name": "  Home   lab ", "color": "#AABBCC"})
    assert created.status_code == 200
    project = created.json()["project"]
    assert created.json()["ok"] is True
    assert project["name"] == "Home lab" and project["color"] == "#aabbcc" and len(project["project_id"]) == 12
    second = (await client.post("/api/projects/create", json={"name": "Work"})).json()["project"]
    assert second["color"] is None
    listed = (await client.get("/api/projects")).json()["projects"]
    assert [p["project_id"] for p in listed] == [project["project_id"], second["project_id"]]

    renamed = await client.post(
        "/api/projects/rename", json={"project_id": project["project_id"], "name": "Lab", "color": "#123"}
    )
    assert renamed.status_code == 200
    assert renamed.json()["project"] | {"created_at": 0} == {
        "project_id": project["project_id"], "name": "Lab", "color": "#123", "created_at": 0, "instructions": "",
    }
    keep_color = await client.post("/api/projects/rename", json={"project_id": project["project_id"], "name": "L2"})
    assert keep_color.json()["project"]["color"] == "#123"

    session_id = await chat_session(client, app)
    await client.post("/api/session/move", json={"session_id": session_id, "project_id": project["project_id"]})
    deleted = await client.post("/api/projects/delete", json={"project_id": project["project_id"]})
    assert deleted.json() == {"ok": True}
    assert [p["project_id"] for p in (await client.get("/api/projects")).json()["projects"]] == [second["project_id"]]
    session = (await client.get("/api/session", params={"session_id": session_id, "messages": 0})).json()["session"]
    assert session["project_id"] is None and session["message_count"] == 2


async def test_project_errors(client: httpx.AsyncClient) -> None:
    cases = [
        ("/api/projects/create", {}, 400),
        ("/api/projects/create", {"name": ""}, 400),
        ("/api/projects/create", {"name": "   "}, 400),
        ("/api/projects/create", {"name": 7}, 400),
        ("/api/projects/create", {"name": "x", "color": "red"}, 400),
        ("/api/projects/create", {"name": "x", "color": "#12"}, 400),
        ("/api/projects/create", {"name": "x", "color": "#1234567890"}, 400),
        ("/api/projects/create", {"name": "x", "color": "#" + "1" * 20}, 400),
        ("/api/projects/rename", {"project_id": "nope", "name": "x"}, 404),
        ("/api/projects/rename", {"name": "x"}, 400),
        ("/api/projects/delete", {"project_id": "nope"}, 404),
        ("/api/projects/delete", {}, 400),
    ]
    for path, body, status in cases:
        response = await client.post(path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert "error" in response.json()
    assert (await client.get("/api/projects")).json() == {"projects": []}


async def test_settings_get_and_post(client: httpx.AsyncClient) -> None:
    defaults = (await client.get("/api/settings")).json()
    assert defaults["theme"] == "system" and defaults["send_key"] == "enter" and defaults["show_thinking"] is True
    response = await client.post("/api/settings", json={"theme": "dark", "show_thinking": False, "bot_name": "Ada"})
    assert response.status_code == 200
    assert response.json()["theme"] == "dark" and response.json()["bot_name"] == "Ada"
    again = (await client.get("/api/settings")).json()
    assert again == defaults | {"theme": "dark", "show_thinking": False, "bot_name": "Ada"}


async def test_settings_refuse_bad_input_and_change_nothing(client: httpx.AsyncClient) -> None:
    before = (await client.get("/api/settings")).json()
    cases = [
        {"theme": "dark", "password_hash": "x"},
        {"theme": "dark", "no_such_key": 1},
        {"theme": "neon"},
        {"theme": "dark", "show_thinking": "yes"},
        {"theme": "dark", "agent_max_steps": 0},
        {"theme": "dark", "agent_max_steps": True},
        {"theme": "dark", "bot_name": "x" * 61},
        {"theme": "dark", "send_key": None},
    ]
    for body in cases:
        response = await client.post("/api/settings", json=body)
        assert response.status_code == 400, body
        assert "error" in response.json()
        assert (await client.get("/api/settings")).json() == before, body
    for raw in (b"[1, 2]", b'"text"', b"null", b"{bad json"):
        response = await client.post("/api/settings", content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 400, raw
        assert "error" in response.json()
    assert (await client.get("/api/settings")).json() == before


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    health = await client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["drafts"] == 0 and body["active_streams"] == 0
    assert isinstance(body["uptime_seconds"], float) and body["version"]
    await client.post("/api/session/new", json={})
    assert (await client.get("/health")).json()["drafts"] == 1
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_readiness_reports_a_dead_database(client: httpx.AsyncClient, app: FastAPI, tmp_path: Path) -> None:
    """The database's file is gone and its directory unusable: readiness says so (a real failure)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    store = app.state.services.store
    if not store.is_sqlite:
        pytest.skip("points the SQLite engine at a path that cannot exist")
    original = store.engine
    store.engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/db.sqlite")
    try:
        response = await client.get("/health/ready")
    finally:
        await store.engine.dispose()
        store.engine = original
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["error"].startswith("writes cannot proceed: OperationalError")


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    schema = (await client.get("/openapi.json")).json()
    paths = set(schema["paths"])
    expected = {
        "/api/session/new", "/api/session", "/api/sessions", "/api/sessions/search", "/api/session/rename",
        "/api/session/update", "/api/session/delete", "/api/session/pin", "/api/session/archive",
        "/api/session/move", "/api/session/clear", "/api/session/truncate", "/api/session/retry",
        "/api/session/undo", "/api/session/duplicate", "/api/session/export", "/api/session/import",
        "/api/projects", "/api/projects/create", "/api/projects/rename", "/api/projects/delete",
        "/api/settings", "/health", "/health/ready",
    }
    assert expected <= paths, expected - paths


async def test_unknown_routes_answer_json_404(client: httpx.AsyncClient) -> None:
    for path in ("/api/nope", "/api/session/nope", "/api/../etc/passwd"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"error": "not found"}
    wrong_method = await client.get("/api/session/rename")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()
