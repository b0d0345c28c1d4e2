"""Compression: JSON (and pages) over 1 KB are gzipped for clients that accept it; event streams and
already-compressed downloads never are, and a gzip-accepting client still gets tokens as they come."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import httpx
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM
from tests.runs.conftest import llm_env, read_until_stall, serve
from tests.support import chat_session
from threadline.settings import Settings
from threadline.web.app import create_app

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


async def test_json_over_a_kilobyte_is_gzipped(client: httpx.AsyncClient, app: FastAPI) -> None:
    session_id = await chat_session(client, app, messages=60)
    params = {"session_id": session_id}
    plain = await client.get("/api/session", params=params, headers=IDENTITY)
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert len(plain.content) > 4096
    zipped = await client.get("/api/session", params=params, headers=GZIP)
    assert zipped.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in zipped.headers["vary"].lower()
    assert int(zipped.headers["content-length"]) < len(plain.content) / 3
    assert zipped.json() == plain.json()
    assert zipped.headers["cache-control"] == "no-store"
    small = await client.get("/health", headers=GZIP)
    assert len(small.content) < 1024 and "content-encoding" not in small.headers


async def test_already_compressed_downloads_are_sent_as_they_are(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings,
) -> None:
    session_id = await chat_session(client, app)
    workspace = settings.resolved_default_workspace
    text = "".join(f"line {i} of a compressible file\n" for i in range(400)).encode()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("notes.txt", text)
    files = {
        "notes.tar.gz": gzip.compress(text), "notes.gz": gzip.compress(text), "notes.zip": archive.getvalue(),
        "notes.txt": text,
    }
    for name, data in files.items():
        (workspace / name).write_bytes(data)
    for name, data in files.items():
        response = await client.get("/api/file/raw", params={"session_id": session_id, "path": name}, headers=GZIP)
        assert response.status_code == 200, (name, response.text)
        assert response.content == data, name
        compressed = response.headers.get("content-encoding") == "gzip"
        assert compressed == (name == "notes.txt"), (name, response.headers)


async def test_the_event_stream_is_never_compressed_nor_held_back(home: Path) -> None:
    """A gzip-accepting client gets the stream as it is, token by token: the model sends half of its
    answer and stalls, and that half arrives."""
    sent_before_the_stall = "".join(f"t{i} " for i in range(10))
    with ScriptedLLM() as llm:
        app = create_app(make_settings(home, default_model="openai/test-model", llm_titles=False), env=llm_env(llm))
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30, headers=GZIP) as client:
            session_id = (await client.post("/api/session/new", json={})).json()["session"]["session_id"]
            started = await client.post("/api/chat/start", json={
                "session_id": session_id, "message": "go [[tokens=20 chunk=1 fail=hang]]"})
            stream_id = started.json()["stream_id"]
            headers = await read_until_stall(client, stream_id, sent_before_the_stall)
            assert headers["content-type"].startswith("text/event-stream")
            assert "content-encoding" not in headers
            assert (await client.post("/api/chat/cancel", json={"stream_id": stream_id})).json()["cancelled"] is True
