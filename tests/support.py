"""Helpers shared by the API tests: make sessions and messages without the chat engine."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI

from threadline.sessions.rows import NewMessage


async def new_draft(client: httpx.AsyncClient, **body: Any) -> str:
    response = await client.post("/api/session/new", json=body)
    assert response.status_code == 200, response.text
    session_id: str = response.json()["session"]["session_id"]
    return session_id


async def add_messages(
    app: FastAPI,
    session_id: str,
    count: int,
    *,
    text: str = "message",
    start_at: float | None = None,
    roles: tuple[str, ...] = ("user", "assistant"),
) -> None:
    """Append ``count`` messages cycling through ``roles``, in one write transaction."""
    service = app.state.services.sessions
    async with service.store.write() as conn:
        for index in range(count):
            role = roles[index % len(roles)]
            stamp = None if start_at is None else start_at + index
            await service.append_message(
                conn, session_id, NewMessage(role=role, content=f"{text} {index}", created_at=stamp)
            )


async def chat_session(
    client: httpx.AsyncClient, app: FastAPI, *, title: str | None = None, messages: int = 2, **kw: Any
) -> str:
    """A stored session with ``messages`` messages (first user message written through the service)."""
    session_id = await new_draft(client)
    await app.state.services.sessions.append_user_message(session_id, kw.get("first", "hello there"))
    if messages > 1:
        await add_messages(app, session_id, messages - 1, start_at=kw.get("start_at"), roles=("assistant", "user"))
    if title is not None:
        response = await client.post("/api/session/rename", json={"session_id": session_id, "title": title})
        assert response.status_code == 200, response.text
    return session_id


async def session_rows(app: FastAPI) -> int:
    count: int = await app.state.services.sessions.count_rows()
    return count


async def listed_ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/api/sessions", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return [s["session_id"] for s in response.json()["sessions"]]


def concrete_path(path: str) -> str:
    """A route template with every parameter filled in."""
    return re.sub(r"\{[^}]+\}", "x1", path)


def route_table(app: FastAPI) -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, with included routers flattened (FastAPI >= 0.16x keeps them
    nested); anything that is not a plain HTTP route fails the test, so it gets looked at."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        routes: list[object] = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))
    table = []
    for route in routes:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if not isinstance(path, str) or not methods:
            raise AssertionError(f"unexpected route {route!r}: check that the auth middleware covers it")
        table.append((path, set(methods)))
    return table
