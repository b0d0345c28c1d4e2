"""Workspace contents that used to hang or break the server (issue 10 items 3, 5, 6): FIFOs, hard links
to files outside, names that are not UTF-8, and searches that outlive their run. Through the file API
and through real runs (the scripted model over real HTTP)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import llm_env, read_events, serve, wait_idle
from tests.sse import Frame
from tests.support import new_draft
from tests.workspace_files import SHOWN_FILE, SHOWN_FOLDER, big_tree, fifo_in, undecodable_tree
from threadline.settings import Settings
from threadline.web.app import create_app
from threadline.web.routes.files import OpenFileResponse
from threadline.workspace import Jail
from threadline.workspace.reading import open_raw

PROMPT = 5.0  # seconds: "promptly", against "never" (a blocked FIFO) or minutes (a whole search)


@pytest.fixture
def ws(settings: Settings) -> Path:
    return settings.resolved_default_workspace


@pytest.fixture
def fifo(ws: Path) -> Iterator[Path]:
    with fifo_in(ws) as path:
        yield path


@pytest.fixture
async def sid(client: httpx.AsyncClient) -> str:
    return await new_draft(client)


async def soon(request: Any) -> httpx.Response:
    response: httpx.Response = await asyncio.wait_for(request, PROMPT)
    return response


# -- the file API --------------------------------------------------------------------------------------


async def test_the_file_api_refuses_a_fifo_promptly(client: httpx.AsyncClient, sid: str, fifo: Path) -> None:
    listed = (await soon(client.get("/api/list", params={"session_id": sid}))).json()
    assert listed["entries"] == [listed["entries"][0] | {"name": "pipe", "type": "special", "special": "FIFO",
                                                          "is_dir": False, "size": None}]
    for url in ("/api/file", "/api/file/raw"):
        response = await soon(client.get(url, params={"session_id": sid, "path": "pipe"}))
        assert response.status_code == 400 and "not a regular file" in response.json()["error"], url
    saved = await soon(client.post("/api/file/save", json={"session_id": sid, "path": "pipe", "content": "x"}))
    assert saved.status_code == 400 and "not a regular file" in saved.json()["error"]
    assert fifo.is_fifo()


async def test_save_refuses_a_hard_link_to_a_file_outside(
    client: httpx.AsyncClient, sid: str, ws: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    os.link(outside, ws / "linked.txt")
    response = await client.post("/api/file/save", json={"session_id": sid, "path": "linked.txt", "content": "x"})
    assert response.status_code == 403 and "2 hard links" in response.json()["error"]
    assert outside.read_text() == "keep me\n" and os.stat(outside).st_nlink == 2  # the link is not broken either
    read = await client.get("/api/file", params={"session_id": sid, "path": "linked.txt"})
    assert read.json()["content"] == "keep me\n"  # reading is allowed: see docs/api.md


async def test_names_that_are_not_utf8_are_listed_and_addressable(
    client: httpx.AsyncClient, sid: str, ws: Path
) -> None:
    raw = undecodable_tree(ws)
    root = await client.get("/api/list", params={"session_id": sid})
    assert root.status_code == 200
    (entry,) = root.json()["entries"]
    assert entry | {"name": SHOWN_FOLDER, "path": SHOWN_FOLDER, "type": "dir", "undecodable": True} == entry
    inner = (await client.get("/api/list", params={"session_id": sid, "path": entry["path"]})).json()
    assert [(e["path"], e["undecodable"]) for e in inner["entries"]] == [(SHOWN_FILE, True)]
    read = await client.get("/api/file", params={"session_id": sid, "path": SHOWN_FILE})
    assert read.status_code == 200 and read.json() | {"path": SHOWN_FILE, "content": "needle\n"} == read.json()
    raw_download = await client.get("/api/file/raw", params={"session_id": sid, "path": SHOWN_FILE, "download": 1})
    assert raw_download.content == b"needle\n"
    assert "filename*=utf-8''r%EF%BF%BDsum%EF%BF%BD.txt" in raw_download.headers["content-disposition"]
    saved = await client.post("/api/file/save", json={"session_id": sid, "path": SHOWN_FILE, "content": "pin\n"})
    assert saved.status_code == 200
    with open(raw, "rb") as handle:
        assert handle.read() == b"pin\n"
    renamed = await client.post("/api/file/rename", json={"session_id": sid, "path": SHOWN_FILE, "new_name": "cv.txt"})
    assert renamed.json() == {"ok": True, "old_path": SHOWN_FILE, "new_path": f"{SHOWN_FOLDER}/cv.txt"}
    deleted = await client.post("/api/file/delete", json={"session_id": sid, "path": SHOWN_FOLDER, "recursive": True})
    assert deleted.status_code == 200 and list(ws.iterdir()) == []


async def test_raw_downloads_serve_the_file_that_was_checked(
    client: httpx.AsyncClient, sid: str, ws: Path
) -> None:
    """Nothing reopens the path after the check: the body comes from the descriptor that was checked,
    with ranges still honoured."""
    (ws / "data.bin").write_bytes(bytes(range(256)) * 4)
    ranged = await client.get("/api/file/raw", params={"session_id": sid, "path": "data.bin"},
                              headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.content == bytes(range(10, 20))

    opened = open_raw(Jail(ws), "data.bin")
    os.unlink(ws / "data.bin")
    os.mkfifo(ws / "data.bin")  # swapped for a FIFO after the check
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "headers": [], "asgi": {"spec_version": "2.4"},
             "extensions": {"http.response.pathsend": {}}}
    await asyncio.wait_for(OpenFileResponse(opened)(scope, receive, send), PROMPT)
    assert b"".join(m.get("body", b"") for m in sent) == bytes(range(256)) * 4
    assert opened.handle.closed


# -- real runs -------------------------------------------------------------------------------------------


@pytest.fixture
async def served(home: Path, llm: ScriptedLLM) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(home, default_model="openai/test-model", workspace_threads=6)
    application: FastAPI = create_app(settings, env=llm_env(llm))
    async with serve(application) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def run_tools(client: httpx.AsyncClient, llm: ScriptedLLM, *calls: tuple[str, dict[str, Any]]) -> list[Frame]:
    llm.script(*[Turn(tool_calls=[call]) for call in calls], Turn(text="done"))
    sid = await new_draft(client)
    started = await client.post("/api/chat/start", json={"session_id": sid, "message": "look around"})
    frames = await asyncio.wait_for(read_events(client, started.json()["stream_id"]), 4 * PROMPT)
    await wait_idle(client, sid)
    return frames


def results(frames: list[Frame]) -> list[dict[str, Any]]:
    return [data for _, name, data in frames if name == "tool_complete"]


async def test_a_fifo_in_a_run_gets_a_prompt_clear_answer(
    served: httpx.AsyncClient, llm: ScriptedLLM, fifo: Path
) -> None:
    (fifo.parent / "notes.txt").write_text("needle\n")
    frames = await run_tools(served, llm, ("read_file", {"path": "pipe"}), ("search_files", {"pattern": "needle"}),
                             ("search_files", {"pattern": "x", "path": "pipe"}))
    assert frames[-1][1] == "stream_end"
    read, searched, direct = results(frames)
    assert read["is_error"] and "pipe is not a regular file (it is a FIFO)" in read["result"]
    assert not searched["is_error"] and searched["result"] == (
        "notes.txt:1: needle\n[not searched, not regular files (FIFOs, sockets, devices): pipe]")
    assert direct["is_error"] and "not a regular file" in direct["result"]


async def test_names_that_are_not_utf8_in_a_run(served: httpx.AsyncClient, llm: ScriptedLLM, home: Path) -> None:
    undecodable_tree(home / "workspace")
    frames = await run_tools(served, llm, ("list_files", {"recursive": True}), ("read_file", {"path": SHOWN_FILE}))
    assert frames[-1][1] == "stream_end", frames[-1]
    listed, read = results(frames)
    assert listed["result"] == f"{SHOWN_FOLDER}/\n{SHOWN_FILE}" and read["result"] == "needle\n"
    sid = (await served.get("/api/sessions")).json()["sessions"][0]["session_id"]
    stored = await served.get("/api/session", params={"session_id": sid})
    assert stored.status_code == 200 and SHOWN_FILE in json.dumps(stored.json(), ensure_ascii=False)
    assert (await served.get("/api/sessions")).status_code == 200


@pytest.mark.slow
async def test_cancelled_searches_leave_the_server_responsive(
    served: httpx.AsyncClient, llm: ScriptedLLM, home: Path
) -> None:
    """Six runs, each cancelled in the middle of a search that would take minutes, on a pool of six
    threads: the searches stop, so the file API still answers at once."""
    big_tree(home / "workspace", links=2000)
    (home / "workspace" / "small.txt").write_text("small\n")
    llm.script(*[Turn(tool_calls=[("search_files", {"pattern": "NOT-THERE"})]) for _ in range(6)])
    streams: list[tuple[str, str]] = []
    for _ in range(6):
        sid = await new_draft(served)
        started = await served.post("/api/chat/start", json={"session_id": sid, "message": "search"})
        stream_id = started.json()["stream_id"]
        await asyncio.wait_for(read_events(served, stream_id, until={"tool"}), 4 * PROMPT)
        streams.append((sid, stream_id))
    await asyncio.sleep(0.5)  # every search is well under way
    for _, stream_id in streams:
        assert (await served.post("/api/chat/cancel", json={"stream_id": stream_id})).json()["cancelled"] is True
    started = time.monotonic()
    listed = await soon(served.get("/api/list", params={"session_id": streams[0][0]}))
    assert listed.status_code == 200 and [e["name"] for e in listed.json()["entries"]] == ["big", "small.txt"]
    read = await soon(served.get("/api/file", params={"session_id": streams[0][0], "path": "small.txt"}))
    assert read.json()["content"] == "small\n"
    assert time.monotonic() - started < PROMPT
    for sid, _ in streams:
        await wait_idle(served, sid)
