"""The runtimes API: list, add or replace, delete and test ACP agents; bad input changes nothing;
environment values never come back in clear; the file is private; sessions pick agents by name."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acp.conftest import SCRIPT, Started, register

SECRET = "sk-test-1234567890abcdef"


async def test_builtin_is_always_listed(chat: httpx.AsyncClient) -> None:
    r = await chat.get("/api/runtimes")
    assert r.status_code == 200
    assert r.json()["runtimes"] == [{"name": "builtin", "kind": "builtin", "available": True}]


async def test_add_replace_and_delete_an_agent(chat: httpx.AsyncClient, home: Path, agent_state: Path) -> None:
    r = await chat.post("/api/runtimes", json={
        "name": "scripted", "command": sys.executable, "args": [str(SCRIPT)],
        "env": {"SCRIPTED_AGENT_STATE": str(agent_state), "AGENT_API_KEY": SECRET}})
    assert r.status_code == 200, r.text
    listed = {item["name"]: item for item in r.json()["runtimes"]}
    agent = listed["scripted"]
    assert agent["kind"] == "acp" and agent["command"] == sys.executable and agent["args"] == [str(SCRIPT)]
    assert agent["available"] is True and "error" not in agent
    assert SECRET not in r.text and agent["env"]["AGENT_API_KEY"] == "sk-…cdef"
    path = home / "runtimes.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())["runtimes"][0]
    assert stored["env"]["AGENT_API_KEY"] == SECRET
    # A session runs on it by name.
    r = await chat.post("/api/session/new", json={"runtime": "scripted"})
    assert r.status_code == 200 and r.json()["session"]["runtime"] == "scripted"
    # Sending the masked value back keeps the secret; leaving env out keeps it all; new values replace.
    masked = agent["env"]
    r = await chat.post("/api/runtimes", json={"name": "scripted", "command": sys.executable,
                                               "args": [str(SCRIPT), "--flag"], "env": masked})
    assert r.status_code == 200
    stored = json.loads(path.read_text())["runtimes"][0]
    assert stored["env"] == {"SCRIPTED_AGENT_STATE": str(agent_state), "AGENT_API_KEY": SECRET}
    assert stored["args"] == [str(SCRIPT), "--flag"]
    await chat.post("/api/runtimes", json={"name": "scripted", "command": sys.executable, "args": [str(SCRIPT)]})
    assert json.loads(path.read_text())["runtimes"][0]["env"]["AGENT_API_KEY"] == SECRET
    await chat.post("/api/runtimes", json={"name": "scripted", "command": sys.executable, "args": [str(SCRIPT)],
                                           "env": {"AGENT_API_KEY": "sk-other-0000000000"}})
    assert json.loads(path.read_text())["runtimes"][0]["env"] == {"AGENT_API_KEY": "sk-other-0000000000"}
    # Delete: gone from the list, the file and the registry.
    r = await chat.post("/api/runtimes/delete", json={"name": "scripted"})
    assert r.status_code == 200 and [i["name"] for i in r.json()["runtimes"]] == ["builtin"]
    assert json.loads(path.read_text())["runtimes"] == []
    r = await chat.post("/api/session/new", json={"runtime": "scripted"})
    assert r.status_code == 400 and "unknown runtime" in r.json()["error"]
    r = await chat.post("/api/runtimes/delete", json={"name": "scripted"})
    assert r.status_code == 404


@pytest.mark.parametrize("body", [
    {"name": "builtin", "command": "x"},
    {"name": "has space", "command": "x"},
    {"name": "-leading", "command": "x"},
    {"name": "a" * 65, "command": "x"},
    {"name": "ok", "command": ""},
    {"name": "ok", "command": " padded "},
    {"name": "ok", "command": "x\u0000y"},
    {"name": "ok", "command": "x", "args": "not a list"},
    {"name": "ok", "command": "x", "args": ["a\u0000"]},
    {"name": "ok", "command": "x", "env": {"BAD-NAME": "v"}},
    {"name": "ok", "command": "x", "env": {"GOOD": 3}},
    {"name": "ok"},
    {"command": "x"},
    [],
])
async def test_bad_input_is_refused_and_changes_nothing(chat: httpx.AsyncClient, home: Path, agent_state: Path,
                                                         body: Any) -> None:
    await register(chat, agent_state)
    before = (home / "runtimes.json").read_text()
    listed = (await chat.get("/api/runtimes")).json()
    r = await chat.post("/api/runtimes", json=body)
    assert r.status_code == 400, r.text
    assert isinstance(r.json()["error"], str) and r.json()["error"]
    assert (home / "runtimes.json").read_text() == before
    assert (await chat.get("/api/runtimes")).json() == listed


async def test_an_agent_whose_command_is_missing_is_listed_unavailable(chat: httpx.AsyncClient, home: Path) -> None:
    r = await chat.post("/api/runtimes", json={"name": "ghost", "command": "no-such-agent-program-xyz"})
    assert r.status_code == 200
    ghost = next(i for i in r.json()["runtimes"] if i["name"] == "ghost")
    assert ghost["available"] is False and "not found" in ghost["error"]
    r = await chat.post("/api/runtimes/test", json={"name": "ghost"})
    assert r.status_code == 200 and r.json()["ok"] is False and "not found" in r.json()["error"]
    sid = (await chat.post("/api/session/new", json={"runtime": "ghost"})).json()["session"]["session_id"]
    r = await chat.post("/api/chat/start", json={"session_id": sid, "message": "hi"})
    assert r.status_code == 200
    from tests.acp.conftest import read_events, wait_idle

    frames = await read_events(chat, r.json()["stream_id"])
    assert frames[-1][1] == "apperror" and "cannot start" in frames[-1][2]["message"]
    await wait_idle(chat, sid)


async def test_the_test_endpoint_runs_initialize(chat: httpx.AsyncClient, agent_state: Path) -> None:
    await register(chat, agent_state)
    r = await chat.post("/api/runtimes/test", json={"name": "scripted"})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["ok"] is True and result["protocol_version"] == 1
    assert result["agent"] == {"name": "scripted-agent", "title": "Scripted agent", "version": "1.0"}
    assert result["load_session"] is True and result["prompt"]["image"] is True
    assert (agent_state / "calls.log").read_text().startswith("initialize fs=True terminal=True client=threadline")
    assert (await chat.post("/api/runtimes/test", json={"name": "nope"})).status_code == 404


async def test_a_program_that_is_not_an_agent_fails_the_test(chat: httpx.AsyncClient) -> None:
    await chat.post("/api/runtimes", json={"name": "not-acp", "command": "/bin/sh", "args": ["-c", "echo hi; exit 4"]})
    result = (await chat.post("/api/runtimes/test", json={"name": "not-acp"})).json()
    assert result["ok"] is False and "not-acp" in result["error"] and result["type"]


async def test_agents_are_registered_at_start_up(start_app: Started, agent_state: Path) -> None:
    async with start_app() as (_app, client):
        await register(client, agent_state, name="kept")
    async with start_app() as (_app, client):
        names = [i["name"] for i in (await client.get("/api/runtimes")).json()["runtimes"]]
        assert names == ["builtin", "kept"]
        r = await client.post("/api/session/new", json={"runtime": "kept"})
        assert r.status_code == 200
