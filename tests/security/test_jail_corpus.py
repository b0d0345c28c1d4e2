"""The workspace jail attacked through every file API endpoint and every agent file tool with one
corpus of escapes; the run loop too, with a scripted model asking for files outside."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import llm_env, read_events, serve, wait_idle
from tests.support import new_draft
from threadline.agent.tools.base import ToolContext
from threadline.agent.tools.files import FILE_TOOLS
from threadline.errors import ThreadlineError
from threadline.web.app import create_app
from threadline.workspace.jail import Jail

SECRET = "TOP-SECRET-CONTENT-4242"

# Paths that must never reach outside the workspace. Entries naming a symlink that is itself in the
# workspace (out_link, secret_link...) are also in LINKS: rename and delete may act on the link.
CORPUS = [
    "..", "../", "../..", "../outside/secret.txt", "src/../../outside/secret.txt", "./../outside",
    "src/pkg/../../../outside/secret.txt", "../ws-sibling/x", "../ws/../outside/secret.txt",
    "/etc/passwd", "/", "//etc/passwd", "/tmp", "OUTSIDE_ABS",
    "a\x00b", "secret.txt\x00.png", "src/\x00",
    "..\\outside\\secret.txt", "src\\..\\..\\outside", "\\etc\\passwd",
    "%2e%2e/outside", "%2E%2E%2Foutside", "..%2foutside", "%2e%2e%5coutside", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e/outside", "%252e%252e%252f", "%25252e%25252e/outside", "src/%00",
    "x" * 256, "a/" * 2100, "é" * 200,
    "out_link", "out_link/secret.txt", "out_link/new.txt", "secret_link", "dangling_out", "loop_a", "loop_a/x",
    "self_loop", "self_loop/x", "root_link", "root_link/etc/passwd", "in_link/../../outside/secret.txt",
]
LINKS = {"out_link", "secret_link", "dangling_out", "loop_a", "self_loop", "root_link"}
READS = ["list", "file", "raw"]
WRITES = ["save", "create", "create-dir", "upload"]
ENTRY_OPS = ["rename", "delete"]


def build_workspace(base: Path) -> tuple[Path, Path]:
    """(workspace, outside) with the symlinks the corpus names; rebuilt before every attempt."""
    ws, outside = base / "ws", base / "outside"
    for path in (ws, outside, base / "ws-sibling"):
        path.mkdir(parents=True, exist_ok=True)
    (outside / "secret.txt").write_text(SECRET)
    (ws / "src" / "pkg").mkdir(parents=True, exist_ok=True)
    (ws / "readme.md").write_text("inside\n")
    links = {"out_link": outside, "secret_link": outside / "secret.txt", "dangling_out": outside / "new.txt",
             "in_link": "src/pkg", "loop_a": "loop_b", "loop_b": "loop_a", "self_loop": "self_loop",
             "root_link": "/"}
    for name, target in links.items():
        if not os.path.lexists(ws / name):
            os.symlink(target, ws / name)
    return ws, outside


def snapshot(base: Path) -> dict[str, str]:
    """Every file and folder outside the workspace, with a digest of each file."""
    seen = {}
    for path in sorted(base.rglob("*")):
        if path.is_relative_to(base / "ws"):
            continue
        seen[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return seen


def corpus(outside: Path) -> list[str]:
    return [str(outside / "secret.txt") if p == "OUTSIDE_ABS" else p for p in CORPUS]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return tmp_path / "jail"


@pytest.fixture
async def jail_app(base: Path, home: Path) -> AsyncIterator[FastAPI]:
    build_workspace(base)
    settings = make_settings(home, workspace_roots=[home, base / "ws"])
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def jail_client(jail_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=jail_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as c:
        yield c


async def call(client: httpx.AsyncClient, op: str, sid: str, path: str) -> httpx.Response:
    if op in READS:
        url = {"list": "/api/list", "file": "/api/file", "raw": "/api/file/raw"}[op]
        return await client.get(url, params={"session_id": sid, "path": path})
    if op == "upload":
        return await client.post("/api/upload", data={"session_id": sid, "path": path},
                                 files={"file": ("secret.txt", b"overwrite", "text/plain")})
    body: dict[str, Any] = {"session_id": sid, "path": path}
    body |= {"save": {"content": "overwrite"}, "create": {"content": "new"}, "rename": {"new_name": "renamed"},
             "delete": {"recursive": True}}.get(op, {})
    return await client.post(f"/api/file/{op}", json=body)


@pytest.mark.parametrize("op", READS + WRITES + ENTRY_OPS)
async def test_file_api_refuses_the_corpus(op: str, base: Path, jail_client: httpx.AsyncClient) -> None:
    sid = await new_draft(jail_client, workspace=str(base / "ws"))
    before = snapshot(base)
    refused = 0
    for path in corpus(base / "outside"):
        build_workspace(base)
        response = await call(jail_client, op, sid, path)
        assert response.status_code < 500, (op, path, response.text)
        assert SECRET not in response.text, (op, path)
        assert snapshot(base) == before, (op, path)
        if op in ENTRY_OPS and path in LINKS:
            assert response.status_code == 200, (op, path, response.text)  # the link itself, inside
            if os.path.lexists(base / "ws" / "renamed"):
                os.unlink(base / "ws" / "renamed")
            continue
        assert 400 <= response.status_code < 500, (op, path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"], (op, path)
        refused += 1
    assert refused >= len(CORPUS) - len(LINKS)


async def test_url_encoded_paths_on_the_wire(base: Path, jail_client: httpx.AsyncClient) -> None:
    """Encodings written straight into the query string: the server decodes once, the jail refuses
    what that leaves (``../``) and what is still encoded (``%2e``)."""
    sid = await new_draft(jail_client, workspace=str(base / "ws"))
    raw_queries = ["%2e%2e%2foutside%2fsecret.txt", "%252e%252e%252foutside%252fsecret.txt",
                   "..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e%5coutside", "%00", "secret_link%00.md",
                   "%c0%ae%c0%ae/outside", "%2fetc%2fpasswd", quote(str(base / "outside" / "secret.txt"), safe="")]
    for raw in raw_queries:
        for url in ("/api/file", "/api/file/raw", "/api/list"):
            response = await jail_client.get(f"{url}?session_id={sid}&path={raw}")
            assert 400 <= response.status_code < 500, (url, raw, response.status_code)
            assert SECRET not in response.text and "error" in response.json()


async def test_agent_file_tools_refuse_the_corpus(base: Path) -> None:
    ws, outside = build_workspace(base)
    ctx = ToolContext(jail=Jail(ws))
    before = snapshot(base)
    attempts = 0
    for tool_class in FILE_TOOLS:
        tool = tool_class()
        for path in corpus(outside):
            build_workspace(base)
            args = {"path": path, "content": "overwrite", "old": "x", "new": "y", "pattern": "SECRET"}
            attempts += 1
            try:
                result = await tool.run(args, ctx)
            except ThreadlineError:
                continue
            assert SECRET not in result.text, (tool.name, path)
            assert snapshot(base) == before, (tool.name, path)
            # A tool may answer without an error only when it stayed inside (e.g. a link listed by name).
            if not result.is_error:
                assert tool.name in ("list_files", "search_files") and path in LINKS | {"in_link/../../outside"}, (
                    tool.name, path, result.text[:200])
    assert attempts == len(FILE_TOOLS) * len(CORPUS)


@pytest.fixture
def llm_server(llm: ScriptedLLM) -> ScriptedLLM:
    """The shared scripted LLM server (tests/conftest.py)."""
    return llm


async def test_a_model_asking_for_outside_files_gets_errors(base: Path, home: Path, llm_server: ScriptedLLM) -> None:
    llm_server.reset()
    ws, outside = build_workspace(base)
    settings = make_settings(home, workspace_roots=[home, ws], default_model="openai/test-model")
    app = create_app(settings, env=llm_env(llm_server))
    calls = [("read_file", {"path": "../outside/secret.txt"}), ("read_file", {"path": str(outside / "secret.txt")}),
             ("read_file", {"path": "secret_link"}), ("list_files", {"path": "out_link"}),
             ("write_file", {"path": "../outside/secret.txt", "content": "pwned"}),
             ("edit_file", {"path": "out_link/secret.txt", "old": "TOP", "new": "pwned"}),
             ("search_files", {"pattern": "SECRET", "path": "root_link/tmp"})]
    llm_server.script(*[Turn(tool_calls=[call]) for call in calls], Turn(text="done"))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        sid = await new_draft(client, workspace=str(ws))
        started = await client.post("/api/chat/start", json={"session_id": sid, "message": "read the secret"})
        frames = await read_events(client, started.json()["stream_id"])
        session = await wait_idle(client, sid)
    results = [f[2] for f in frames if f[1] == "tool_complete"]
    assert len(results) == len(calls)
    for data in results:
        assert data.get("is_error") is True or "error" in json.dumps(data).lower(), data
    assert SECRET not in json.dumps(frames) and SECRET not in json.dumps(session)
    assert (outside / "secret.txt").read_text() == SECRET
