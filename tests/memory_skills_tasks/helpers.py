"""Helpers for the memory, skills and tasks tests: turns through the real chat API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.runs.conftest import read_events, wait_idle


def system_of(request: dict[str, Any]) -> str:
    """The instructions a model request carried (OpenAI's system message, or Anthropic's ``system``)."""
    if request.get("system"):
        system = request["system"]
        return system if isinstance(system, str) else "".join(b.get("text", "") for b in system)
    first = (request.get("messages") or [{}])[0]
    return str(first.get("content", "")) if first.get("role") == "system" else ""


def tool_results(request: dict[str, Any]) -> list[str]:
    """The tool results a model request carried (OpenAI's ``role: tool`` messages)."""
    return [str(m.get("content", "")) for m in request.get("messages") or [] if m.get("role") == "tool"]


async def new_session(client: httpx.AsyncClient, **body: Any) -> str:
    return str((await client.post("/api/session/new", json=body)).json()["session"]["session_id"])


async def turn(client: httpx.AsyncClient, sid: str, message: str, *, approve: str | None = None) -> list[str]:
    """One chat turn to its end; an approval it asks for is answered with ``approve``. The event names."""
    r = await client.post("/api/chat/start", json={"session_id": sid, "message": message})
    assert r.status_code == 200, r.text
    stream = r.json()["stream_id"]
    frames = await read_events(client, stream, until={"approval", "stream_end"})
    while frames[-1][1] == "approval":
        assert approve is not None, f"the turn asked for approval: {frames[-1][2]}"
        answered = await client.post("/api/approval/respond", json={"session_id": sid, "choice": approve})
        assert answered.status_code == 200, answered.text
        frames += await read_events(client, stream, after=frames[-1][0], until={"approval", "stream_end"})
    await wait_idle(client, sid)
    return [f[1] for f in frames]


async def set_preference(client: httpx.AsyncClient, **values: Any) -> None:
    r = await client.post("/api/settings", json=values)
    assert r.status_code == 200, r.text

