"""A partial body never replaces good state (issue 17 item 1): every write endpoint of the route table,
given an empty body or a body with only some of its required fields, answers 4xx and changes nothing.
Endpoints whose fields are all optional get ``{}`` and each field alone: they may answer 200, but
then must change nothing either (``POST /api/providers {"api_key": ...}`` once replaced the configured
provider). The state compared before and after each call is read through the API: settings,
providers, the sessions list, a session with its messages, projects, memory, skills, tasks, MCP
servers, runtimes, approvals, notices, the web tools, the personas and the session's workspace."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import make_settings
from tests.runs.conftest import serve
from tests.support import chat_session, concrete_path, route_table
from threadline.web.app import create_app

SAFE = {"GET", "HEAD", "OPTIONS"}
SNAPSHOT = ("/api/settings", "/api/providers", "/api/projects", "/api/memory", "/api/skills", "/api/crons",
            "/api/mcp/servers", "/api/runtimes", "/api/approvals", "/api/notices", "/api/web-tools",
            "/api/personalities")
# Complete bodies that are empty on purpose, and what they change that the snapshot does not read.
EMPTY_IS_COMPLETE = {
    "/api/auth/logout": "ends the caller's own login (there is none here)",
    "/api/session/new": "makes a draft, which is not stored until it has a message",
    "/api/notices/read": "marks every notice read (there are none here)",
    "/api/settings": "changes the settings it is given: none",
    "/api/onboarding/complete": "records that the first-run dialog is done (onboarding_done), its one purpose",
}
EMPTY_CHANGES = {"/api/onboarding/complete"}  # of those, the ones whose change is the point


def _schema(openapi: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The JSON body schema of ``POST path`` (its ``$ref`` resolved), or None for no JSON body."""
    body = openapi["paths"].get(path, {}).get("post", {}).get("requestBody", {})
    schema = body.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    ref = schema.get("$ref", "")
    return openapi["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def _value(name: str, prop: dict[str, Any], known: dict[str, Any]) -> Any:
    if name in known:
        return known[name]
    kinds = {t.get("type") for t in prop.get("anyOf", [prop])}
    for kind, value in (("string", "x"), ("integer", 1), ("number", 1), ("boolean", True), ("array", []),
                        ("object", {})):
        if kind in kinds:
            return value
    return "x"


def partial_bodies(schema: dict[str, Any] | None, known: dict[str, Any]) -> list[dict[str, Any]]:
    """``{}`` and one body per field holding that field alone, when that leaves a required field out
    (or when every field is optional)."""
    if schema is None:
        return [{}]
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    bodies: list[dict[str, Any]] = [{}]
    for name, prop in properties.items():
        if required - {name} or not required:
            bodies.append({name: _value(name, prop, known)})
    return bodies


async def snapshot(client: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    reads = [(path, {}) for path in SNAPSHOT] + [
        ("/api/sessions", {"archived": "all", "limit": 500}),
        ("/api/session", {"session_id": session_id}),
        ("/api/list", {"session_id": session_id}),
    ]
    answers = await asyncio.gather(*(client.get(path, params=params) for path, params in reads))
    state = {path: answer.json() for (path, _params), answer in zip(reads, answers, strict=True)}
    state["/api/sessions"].pop("server_time", None)  # the server's clock, not state
    return state


async def test_partial_bodies_change_nothing(home: Path) -> None:
    app = create_app(make_settings(home))
    (home / "workspace" / "notes.md").write_text("keep me")
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=url) as local:
            session_id = await chat_session(local, app, messages=4, title="kept")
        provider = {"id": "openai", "kind": "openai", "models": ["m"], "base_url": "http://127.0.0.1:9/v1",
                    "api_key": "sk-" + "k" * 30}
        configured = await client.post("/api/providers", json=provider)
        assert configured.status_code == 200, configured.text
        project = (await client.post("/api/projects/create", json={"name": "p"})).json()["project"]["project_id"]
        await client.post("/api/session/move", json={"session_id": session_id, "project_id": project})
        session = (await client.get("/api/session", params={"session_id": session_id})).json()["session"]
        known = {"session_id": session_id, "project_id": project, "message_id": session["messages"][1]["id"],
                 "path": "notes.md", "api_key": "sk-replacement-" + "r" * 20, "keep_count": 1,
                 "base_url": "http://127.0.0.1:9/other", "models": ["other"], "content": "replaced",
                 "section": "memory", "name": "x", "title": "changed", "pinned": False, "archived": True}
        openapi = (await client.get("/openapi.json")).json()
        writes = sorted((path, m) for path, methods in route_table(app) for m in methods if m not in SAFE)
        before = await snapshot(client, session_id)
        problems, tried = [], 0
        for route_path, method in writes:  # the state is compared after each route's bodies
            path = concrete_path(route_path)
            schema = _schema(openapi, route_path)
            required = bool(schema and schema.get("required"))
            sent = []
            for body in partial_bodies(schema, known):
                tried += 1
                response = await client.request(method, path, json=body)
                assert response.status_code < 500, (route_path, body, response.text)
                sent.append((body, response.status_code))
                if response.is_success and required and not (body == {} and route_path in EMPTY_IS_COMPLETE):
                    problems.append(f"{method} {route_path} {body}: {response.status_code} without a required field")
            after = await snapshot(client, session_id)
            changed = [k for k in before if before[k] != after[k]]
            if changed and route_path not in EMPTY_CHANGES:
                problems.append(f"{method} {route_path} {sent}: changed {changed}")
            before = after
    assert not problems, "\n".join(problems)
    assert tried >= 100 and len(writes) >= 50, (tried, len(writes))
