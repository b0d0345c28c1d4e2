"""The web tools end to end (issue 14 item 7): their configuration over ``/api/web-tools`` (keys
masked, the file private, bad input refused), and chat runs in which the scripted LLM calls
``web_fetch`` and ``web_search`` through the approval flow against a real local web site."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import read_events, wait_idle
from tests.web_site import BRAVE_KEY, Site, web_site
from threadline.settings import Settings


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with web_site() as running:
        yield running


async def configure(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    r = await client.post("/api/web-tools", json=changes)
    assert r.status_code == 200, r.text
    return dict(r.json())


def offered(llm: ScriptedLLM) -> list[str]:
    return [t["function"]["name"] for t in llm.requests[-1].get("tools") or []]


async def turn(client: httpx.AsyncClient, llm: ScriptedLLM, sid: str, calls: list[tuple[str, dict[str, Any]]],
               answers: list[str]) -> list[tuple[str, Any]]:
    """One chat turn whose model makes ``calls`` (one per step); each approval asked is answered with
    the next of ``answers``. The (event, data) frames."""
    llm.script(*[Turn(tool_calls=[call]) for call in calls], Turn(text="done"))
    stream = (await client.post("/api/chat/start", json={"session_id": sid, "message": "go"})).json()["stream_id"]
    frames = await read_events(client, stream, until={"approval", "stream_end"})
    pending = list(answers)
    while frames[-1][1] == "approval":
        assert pending, f"asked once too often: {frames[-1][2]}"
        await client.post("/api/approval/respond", json={"session_id": sid, "choice": pending.pop(0)})
        frames += await read_events(client, stream, after=frames[-1][0], until={"approval", "stream_end"})
    assert not pending, f"not asked: {pending}"
    await wait_idle(client, sid)
    return [(f[1], f[2]) for f in frames]


async def tool_messages(client: httpx.AsyncClient, sid: str) -> list[dict[str, Any]]:
    session = (await client.get("/api/session", params={"session_id": sid})).json()["session"]
    return [m for m in session["messages"] if m["role"] == "tool"]


async def test_the_configuration_keeps_keys_private(chat: httpx.AsyncClient, chat_settings: Settings) -> None:
    first = (await chat.get("/api/web-tools")).json()
    assert first["search_backend"] == "none" and first["allow_private"] is False
    assert first["search_available"] is False and first["search_problem"] == "no search backend is configured"
    saved = await configure(chat, search_backend="brave", brave_api_key=BRAVE_KEY, brave_url="http://127.0.0.1:9/b")
    assert saved["brave_api_key"] == "bra…3456" and saved["has_brave_key"] is True and saved["search_available"]
    path = chat_settings.home / "web.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and json.loads(path.read_text())["brave_api_key"] == BRAVE_KEY
    kept = await configure(chat, brave_api_key="bra…3456", allow_private=True, private_hosts=["Wiki.Internal:8080"])
    assert json.loads(path.read_text())["brave_api_key"] == BRAVE_KEY
    assert kept["private_hosts"] == ["wiki.internal:8080"]
    assert BRAVE_KEY not in (await chat.get("/api/web-tools")).text
    removed = await configure(chat, brave_api_key="")
    assert removed["has_brave_key"] is False and removed["search_problem"] == "the Brave backend needs brave_api_key"
    before = path.read_text()
    for body in ([], "x", {"search_backend": "google"}, {"allow_private": "yes"}, {"searxng_url": "ftp://x"},
                 {"searxng_url": 5}, {"brave_api_key": "k\u00e9y"}, {"private_hosts": "a"},
                 {"private_hosts": ["a b"]}, {"private_hosts": ["x"] * 101}, {"unknown": 1},
                 {"allow_private": True, "search_backend": "nope"}):
        r = await chat.post("/api/web-tools", json=body)
        assert r.status_code == 400 and r.json()["error"], body
    r = await chat.post("/api/web-tools", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and path.read_text() == before


async def test_the_trial_search(chat: httpx.AsyncClient, site: Site) -> None:
    assert (await chat.post("/api/web-tools/test", json={})).json() == {
        "ok": False, "error": "no search backend is configured"}
    await configure(chat, search_backend="searxng", searxng_url=site.url)
    r = (await chat.post("/api/web-tools/test", json={"query": "hello"})).json()
    assert r["ok"] is True and r["results"][0] == {"title": "Threadline docs", "url": "https://example.com/docs",
                                                   "snippet": "The & manual"}
    for body in ({"query": ""}, {"query": 3}, {"query": "x" * 501}, []):
        assert (await chat.post("/api/web-tools/test", json=body)).status_code == 400


async def test_the_agent_fetches_and_searches_through_approvals(
    chat: httpx.AsyncClient, chat_app: FastAPI, llm: ScriptedLLM, site: Site,
) -> None:
    sid = (await chat.post("/api/session/new", json={})).json()["session"]["session_id"]
    page = f"{site.url}/page.html"

    # No backend: web_search is not offered. Loopback is refused by default, after the approval.
    frames = await turn(chat, llm, sid, [("web_fetch", {"url": page})], ["once"])
    assert "web_fetch" in offered(llm) and "web_search" not in offered(llm)
    approval = next(data for event, data in frames if event == "approval")
    assert approval["tool"] == "web_fetch" and approval["description"] == f"Fetch {page}"
    assert approval["covers"] == ["127.0.0.1:" + site.url.rsplit(":", 1)[1]]
    assert "fetching any page of 127.0.0.1:" in approval["covers_text"]
    refused = (await tool_messages(chat, sid))[-1]
    assert refused.get("is_error") and "refused to connect to 127.0.0.1" in refused["content"] and site.hits == []

    # Allowed in Settings; "always" covers this host from now on, in every chat.
    await configure(chat, allow_private=True, search_backend="searxng", searxng_url=site.url)
    frames = await turn(chat, llm, sid, [("web_fetch", {"url": page})], ["always"])
    fetched = (await tool_messages(chat, sid))[-1]
    assert not fetched.get("is_error") and "# Hello, web" in fetched["content"] and site.hits == ["/page.html"]
    other = (await chat.post("/api/session/new", json={})).json()["session"]["session_id"]
    frames = await turn(chat, llm, other, [("web_fetch", {"url": f"{site.url}/data.json"})], [])
    assert "approval" not in [event for event, _ in frames]
    assert (await tool_messages(chat, other))[-1]["content"].endswith('{"answer":42}')
    standing = (await chat.get("/api/approvals")).json()["approvals"]
    assert [(a["tool"], a["pattern"]) for a in standing] == [("web_fetch", "127.0.0.1:" + site.url.rsplit(":", 1)[1])]

    # web_search is offered once a backend is set; a denial is stored as such.
    frames = await turn(chat, llm, sid, [("web_search", {"query": "threadline", "count": 2})], ["deny"])
    assert "web_search" in offered(llm)
    denied = (await tool_messages(chat, sid))[-1]
    assert denied.get("is_error") and denied.get("approval") == "denied" and "/search" not in site.hits
    frames = await turn(chat, llm, sid, [("web_search", {"query": "threadline", "count": 2})], ["session"])
    approval = next(data for event, data in frames if event == "approval")
    assert approval["covers"] == ["searxng"] and "every web search through searxng" in approval["covers_text"]
    found = (await tool_messages(chat, sid))[-1]
    assert found["content"].startswith("1. Threadline docs\n   https://example.com/docs\n   The & manual\n2. Second")
    frames = await turn(chat, llm, sid, [("web_search", {"query": "again"})], [])  # this chat: not asked again
    assert "approval" not in [event for event, _ in frames]
    ends = [data for event, data in frames if event == "tool_complete"]
    assert ends and not ends[-1].get("is_error")
