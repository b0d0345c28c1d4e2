"""``threadline import hermes DIR`` on a realistic Hermes WebUI state directory (reference §1)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from threadline.cli.imports import import_hermes
from threadline.web.app import create_app

T0 = 1_761_000_000.0
PROJECT = "a1b2c3d4e5f6"


def _session(session_id: str, messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    # Metadata first, ``messages`` last, as Hermes writes them.
    data: dict[str, Any] = {
        "session_id": session_id,
        "title": "Untitled",
        "workspace": "/home/hermes-user/code/app",
        "model": "openai/gpt-5.4-mini",
        "created_at": T0,
        "updated_at": T0 + 100,
        "pinned": False,
        "archived": False,
        "project_id": None,
        "profile": "default",
        "input_tokens": 0,
        "output_tokens": 0,
        "estimated_cost": 0,
        "personality": None,
        "active_stream_id": None,
        "pending_user_message": None,
        "pending_attachments": [],
        "pending_started_at": None,
        "tool_calls": [],
    }
    data.update(fields)
    data["messages"] = messages
    return data


def write_fixture(state: Path) -> Path:
    sessions = state / "sessions"
    sessions.mkdir(parents=True)
    (state / "projects.json").write_text(json.dumps([
        {"project_id": PROJECT, "name": "Backend", "color": "#10b981", "created_at": T0 - 1000},
        {"project_id": "0f0f0f0f0f0f", "name": "Odd colour", "color": "chartreuse", "created_at": T0 - 900},
    ]))
    files: dict[str, Any] = {
        # A full conversation: tool calls, tool results, list content, reasoning, markers, both stamps.
        "aaaaaaaaaaa1": _session("aaaaaaaaaaa1", [
            {"role": "user", "content": "Which files are in the repo?", "timestamp": int(T0 + 10)},
            {"role": "assistant", "content": "", "timestamp": int(T0 + 11), "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "list_files", "arguments": "{\"path\": \".\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "README.md\nsrc/"},
            {"role": "assistant", "reasoning": "Two entries.", "timestamp": int(T0 + 13), "content": [
                {"type": "thinking", "thinking": "look at the listing"},
                {"type": "text", "text": "There is a README and a src folder."},
            ]},
            {"role": "user", "content": "Now refactor everything", "_ts": T0 + 20.5, "attachments": ["plan.md"]},
            {"role": "assistant", "content": "Starting the refac", "_partial": True, "_ts": T0 + 21.0},
            {"role": "assistant", "content": "*Task cancelled.*", "_error": True, "_ts": T0 + 21.5},
        ], title="Repo tour", pinned=True, project_id=PROJECT, input_tokens=1200, output_tokens=340,
            estimated_cost=0.0123, updated_at=T0 + 22, llm_title_generated=True),
        "bbbbbbbbbbb2": _session("bbbbbbbbbbb2", [
            {"role": "user", "content": "old question", "timestamp": int(T0 + 5)},
            {"role": "assistant", "content": "old answer", "timestamp": int(T0 + 6)},
        ], title="Archived chat", archived=True, project_id="ffffffffffff"),
        # Untitled with messages: titled from the first user message.
        "ccccccccccc3": _session("ccccccccccc3", [
            {"role": "user",
             "content": "  Explain the difference between TCP and UDP in detail please, with examples  "},
            {"role": "assistant", "content": "TCP is reliable..."},
        ], created_at=str(T0 + 30), updated_at="2025-10-21T00:00:00Z"),
        # Crashed in its first turn: the prompt lives only in pending_user_message (reference §1.6.8).
        "ddddddddddd4": _session("ddddddddddd4", [], title="Pending", pending_user_message="Is this lost?",
                                 pending_started_at=T0 + 40, active_stream_id="f" * 32),
        # Empty sessions are skipped.
        "eeeeeeeeeee5": _session("eeeeeeeeeee5", []),
        # Odd rows are dropped, the rest kept.
        "99999999999a": _session("99999999999a", [
            "not a message", {"role": "developer", "content": "?"}, {"role": "user", "content": "kept"},
        ], title="Odd rows"),
    }
    for session_id, data in files.items():
        (sessions / f"{session_id}.json").write_text(json.dumps(data, indent=2))
    # An id Threadline would not use as is: imported under a new id.
    (sessions / "Weird-ID.json").write_text(json.dumps(_session("Weird-ID", [
        {"role": "user", "content": "hello from a weird id"}], title="Weird")))
    # A file named differently from its session_id (a copy): the session_id wins.
    (sessions / "copy of aaaaaaaaaaa1.json").write_text(json.dumps(files["aaaaaaaaaaa1"]))
    # Broken files: reported, skipped.
    (sessions / "0000000bad01.json").write_text('{"session_id": "0000000bad01", "title": "Trunc')
    (sessions / "0000000bad02.json").write_text("[1, 2, 3]")
    (sessions / "0000000bad03.json").write_bytes(b"\xff\xfe\x00garbage")
    # Not session files at all.
    (sessions / "_index.json").write_text(json.dumps([{"session_id": "aaaaaaaaaaa1"}]))
    (sessions / "aaaaaaaaaaa1.json.tmp.4242.1").write_text("{")
    (sessions / "aaaaaaaaaaa1.json.bak").write_text("{")
    (sessions / "notes.txt").write_text("hello")
    return sessions


@pytest.fixture
def hermes_dir(tmp_path: Path) -> Path:
    return write_fixture(tmp_path / "hermes-state")


async def run_import(home: Path, directory: Path) -> int:
    """The CLI's entry point, in-process (it runs its own event loop, so in a thread here)."""
    return await asyncio.to_thread(import_hermes, make_settings(home), directory)


@contextlib.asynccontextmanager
async def api(home: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(home))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client


async def fetch(home: Path, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
    out = []
    async with api(home) as client:
        for path, params in calls:
            response = await client.get(path, params=params)
            assert response.status_code == 200, (path, response.text)
            out.append(response.json())
    return out


async def test_import_in_process(home: Path, hermes_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = await run_import(home, hermes_dir)
    output = capsys.readouterr().out
    assert code == 1  # three files failed; everything else is imported
    assert "Imported 6 session(s)" in output
    assert "skipped, already present: 1" in output  # the copy of aaaaaaaaaaa1
    assert "skipped, no messages:     1" in output
    assert "failed:                   3" in output
    for name in ("0000000bad01.json", "0000000bad02.json", "0000000bad03.json"):
        assert name in output
    assert "messages dropped (not an object or unknown role): 2" in output

    listed, archived, projects, tour, pending, odd, untitled = await fetch(
        home,
        ("/api/sessions", {"limit": 500}),
        ("/api/sessions", {"archived": "1"}),
        ("/api/projects", {}),
        ("/api/session", {"session_id": "aaaaaaaaaaa1"}),
        ("/api/session", {"session_id": "ddddddddddd4"}),
        ("/api/session", {"session_id": "99999999999a"}),
        ("/api/session", {"session_id": "ccccccccccc3"}),
    )
    ids = [s["session_id"] for s in listed["sessions"]]
    assert ids[0] == "aaaaaaaaaaa1"  # pinned first
    assert {"aaaaaaaaaaa1", "ccccccccccc3", "ddddddddddd4", "99999999999a"} <= set(ids)
    assert "bbbbbbbbbbb2" not in ids and "eeeeeeeeeee5" not in ids
    assert [s["session_id"] for s in archived["sessions"]] == ["bbbbbbbbbbb2"]
    assert archived["sessions"][0]["project_id"] is None  # unknown project: no project

    names = {p["name"]: p for p in projects["projects"]}
    assert names["Backend"]["project_id"] == PROJECT and names["Backend"]["color"] == "#10b981"
    assert names["Backend"]["created_at"] == T0 - 1000
    assert names["Odd colour"]["color"] is None

    session = tour["session"]
    assert session["title"] == "Repo tour" and session["pinned"] is True and session["project_id"] == PROJECT
    assert session["workspace"] == "/home/hermes-user/code/app"  # kept as given, though it does not exist here
    assert session["created_at"] == T0 and session["updated_at"] == T0 + 22
    assert session["input_tokens"] == 1200 and session["output_tokens"] == 340 and session["estimated_cost"] == 0.0123
    assert session["extra"]["hermes_id"] == "aaaaaaaaaaa1" and session["extra"]["llm_title_generated"] is True
    messages = session["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "user", "assistant", "assistant"]
    assert messages[0]["timestamp"] == T0 + 10
    assert messages[1]["tool_calls"][0]["function"]["name"] == "list_files"
    assert messages[2]["tool_call_id"] == "call_1" and messages[2]["timestamp"] == T0 + 11  # unstamped: previous
    assert messages[3]["content"][1] == {"type": "text", "text": "There is a README and a src folder."}
    assert messages[3]["reasoning"] == "Two entries."
    assert messages[4]["timestamp"] == T0 + 20.5 and messages[4]["attachments"] == ["plan.md"]
    assert messages[5]["_partial"] is True and messages[5]["status"] == "partial"
    assert messages[6]["_error"] is True and messages[6]["in_context"] is False
    assert session["last_message_at"] == T0 + 21.5

    recovered = pending["session"]
    assert recovered["title"] == "Pending" and recovered["active_stream_id"] is None
    assert [(m["role"], m["content"]) for m in recovered["messages"]] == [("user", "Is this lost?")]
    assert recovered["messages"][0]["timestamp"] == T0 + 40

    assert [m["content"] for m in odd["session"]["messages"]] == ["kept"]
    derived = untitled["session"]
    assert derived["title"] == "Explain the difference between TCP and UDP in detail please, wit"
    assert derived["created_at"] == T0 + 30
    assert derived["updated_at"] == 1761004800.0  # 2025-10-21T00:00:00Z

    weird = [s for s in listed["sessions"] if s["title"] == "Weird"]
    assert len(weird) == 1 and weird[0]["session_id"] != "Weird-ID"
    assert weird[0]["extra"]["hermes_id"] == "Weird-ID"

    # Search finds imported content.
    found = await fetch(home, ("/api/sessions/search", {"q": "README"}))
    assert [s["session_id"] for s in found[0]["sessions"]] == ["aaaaaaaaaaa1"]


async def test_second_run_imports_nothing(home: Path, hermes_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await run_import(home, hermes_dir)
    capsys.readouterr()
    code = await run_import(home, hermes_dir)
    output = capsys.readouterr().out
    assert code == 1
    assert "Imported 0 session(s)" in output
    assert "skipped, already present: 7" in output
    assert "projects created" not in output
    (listed,) = await fetch(home, ("/api/sessions", {"archived": "all", "limit": 500}))
    assert len(listed["sessions"]) == 6
    (projects,) = await fetch(home, ("/api/projects", {}))
    assert len(projects["projects"]) == 2


async def test_taken_ids_get_a_new_id(home: Path, hermes_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app(make_settings(home))
    async with app.router.lifespan_context(app):
        service = app.state.services.sessions
        async with service.store.write() as conn:
            await service.create_row(conn, id="aaaaaaaaaaa1", title="Mine", workspace="/tmp", message_count=0)
        await app.state.services.projects.create("Someone else's", project_id=PROJECT)
    assert await run_import(home, hermes_dir) == 1
    assert "kept under a new id (id taken or invalid): 2" in capsys.readouterr().out
    (mine,) = await fetch(home, ("/api/session", {"session_id": "aaaaaaaaaaa1", "messages": 0}))
    assert mine["session"]["title"] == "Mine"
    (found,) = await fetch(home, ("/api/sessions/search", {"q": "Repo tour"}))
    tour = found["sessions"][0]
    assert tour["session_id"] != "aaaaaaaaaaa1" and tour["extra"]["hermes_id"] == "aaaaaaaaaaa1"
    assert tour["message_count"] == 7
    (projects,) = await fetch(home, ("/api/projects", {}))
    backend = [p for p in projects["projects"] if p["name"] == "Backend"]
    assert len(backend) == 1 and backend[0]["project_id"] != PROJECT
    assert tour["project_id"] == backend[0]["project_id"]
    # Again: nothing new, though the ids differ.
    capsys.readouterr()
    await run_import(home, hermes_dir)
    assert "Imported 0 session(s)" in capsys.readouterr().out


def test_missing_directory(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert import_hermes(make_settings(home), tmp_path / "nope") == 2
    assert "not a directory" in capsys.readouterr().out


async def test_clean_directory_exits_zero(home: Path, tmp_path: Path) -> None:
    sessions = tmp_path / "state" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "123456789abc.json").write_text(json.dumps(_session("123456789abc", [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], title="Hi")))
    assert await run_import(home, sessions) == 0


@pytest.mark.slow
def test_import_cli_subprocess(home: Path, hermes_dir: Path) -> None:
    env = {**os.environ, "THREADLINE_HOME": str(home)}
    command = [sys.executable, "-m", "threadline", "import", "hermes", str(hermes_dir)]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 1, first.stderr
    assert "Imported 6 session(s)" in first.stdout
    # Progress on stderr; not a terminal here, so plain lines without control codes, the last one complete.
    progress = first.stderr.splitlines()
    assert progress[0].startswith("Importing: 0/11 sessions"), first.stderr
    assert re.fullmatch(r"Importing: 11/11 sessions, [\d,]+ sessions/s, [\d.]+ s", progress[-1]), first.stderr
    assert "\x1b" not in first.stderr
    assert "0000000bad01.json" in first.stdout
    second = subprocess.run(
        [*command, "--home", str(home)], env=os.environ, capture_output=True, text=True, timeout=60
    )
    assert "Imported 0 session(s)" in second.stdout and "already present: 7" in second.stdout
    missing = subprocess.run([*command[:-1], str(home / "nope")], env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2


async def test_an_unknown_cost_stays_unknown(home: Path, tmp_path: Path) -> None:
    """Hermes writes ``estimated_cost: null`` when it could not price a turn: that is not a cost of 0."""
    sessions = tmp_path / "state" / "sessions"
    sessions.mkdir(parents=True)
    chat = [{"role": "user", "content": "price this"}, {"role": "assistant", "content": "cannot"}]
    for session_id, cost in (("c0000000000a", None), ("c0000000000b", 0.25), ("c0000000000c", 0)):
        (sessions / f"{session_id}.json").write_text(json.dumps(_session(session_id, chat, estimated_cost=cost)))
    assert await run_import(home, sessions) == 0
    async with api(home) as client:
        costs = {}
        for session_id in ("c0000000000a", "c0000000000b", "c0000000000c"):
            found = (await client.get("/api/session", params={"session_id": session_id})).json()["session"]
            costs[session_id] = found["estimated_cost"]
        assert costs == {"c0000000000a": None, "c0000000000b": 0.25, "c0000000000c": 0}
        # Exported and imported again (through the API), it is still unknown.
        exported = (await client.get("/api/session/export", params={"session_id": "c0000000000a"})).json()
        exported.pop("workspace")
        again = (await client.post("/api/session/import", json=exported)).json()["session"]
        assert again["session_id"] != "c0000000000a" and again["estimated_cost"] is None
        listed = (await client.get("/api/sessions")).json()["sessions"]
        assert {s["session_id"]: s["estimated_cost"] for s in listed}[again["session_id"]] is None


def hermes_order(files: list[dict[str, Any]]) -> list[str]:
    """Hermes WebUI's list order (reference §1.4, §1.7): ``_index.json`` is kept sorted by ``updated_at``,
    descending; ``all_sessions()`` sorts it again, stably, by (``pinned``, ``last_message_at`` or
    ``updated_at``), descending, where ``last_message_at`` is the stamp of the last message not from a tool."""

    def last_message_at(data: dict[str, Any]) -> float | None:
        said = [m for m in data["messages"] if m["role"] != "tool"]
        return (said[-1].get("timestamp") or said[-1].get("_ts")) if said else None

    index = sorted(files, key=lambda d: d["updated_at"], reverse=True)
    ordered = sorted(index, key=lambda d: (d["pinned"], last_message_at(d) or d["updated_at"]), reverse=True)
    return [d["session_id"] for d in ordered]


async def test_imported_sessions_keep_hermes_order(home: Path, tmp_path: Path) -> None:
    sessions = tmp_path / "state" / "sessions"
    sessions.mkdir(parents=True)
    rng = random.Random(11)
    stamps = iter(rng.sample(range(int(T0), int(T0) + 10**6), 400))  # distinct: no ties to break
    files = []
    for index in range(40):
        asked, answered = sorted(next(stamps) for _ in range(2))
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": f"question {index}", "timestamp": asked},
            {"role": "assistant", "content": f"answer {index}", "_ts": answered + 0.5},
        ]
        if index % 4 == 1:  # a tool row last, stamped later: not what Hermes sorts by
            messages.append({"role": "tool", "tool_call_id": "c", "content": "out", "timestamp": next(stamps) + 2e6})
        if index % 5 == 2:  # the last message unstamped: Hermes falls back to updated_at
            messages[-1].pop("_ts", None)
        # Mostly touched after the last message (renamed, pinned, moved...), sometimes long before.
        updated = float(next(stamps)) + (3e6 if index % 3 else -3e6)
        files.append(_session(f"{index:012x}", messages, title=f"chat {index}", pinned=index % 7 == 3,
                              archived=index % 9 == 4, updated_at=updated, created_at=T0 - 9e6))
    for data in files:
        (sessions / f"{data['session_id']}.json").write_text(json.dumps(data))
    assert await run_import(home, sessions) == 0
    (listed,) = await fetch(home, ("/api/sessions", {"archived": "all", "limit": 500}))
    assert [s["session_id"] for s in listed["sessions"]] == hermes_order(files)
