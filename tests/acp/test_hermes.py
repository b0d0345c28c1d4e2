"""Hermes Agent end to end: ``hermes-acp`` from its own virtual environment, pointed at the scripted LLM
server, registered as a runtime, runs a turn with a tool call through Threadline.

The environment is made once under ``~/.cache/threadline-tests/hermes-venv`` (``THREADLINE_TEST_CACHE``
moves it) and reused; never Threadline's own (Hermes pins older SDKs). The test is skipped, saying
why, only when ``hermes-agent[acp]`` cannot be installed. It records the version it ran and how long
the turn took in ``hermes.json`` among the test artifacts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.acp.conftest import Started, answer_approval, new_session, read_events, start, text_of, wait_idle
from tests.llm_server import ScriptedLLM, Turn

pytestmark = pytest.mark.slow

INSTALL_SECONDS = 1200


def cache_dir() -> Path:
    return Path(os.environ.get("THREADLINE_TEST_CACHE") or Path.home() / ".cache" / "threadline-tests")


def hermes_venv() -> Path:
    """The virtual environment with ``hermes-agent[acp]``, installed on first use."""
    venv = cache_dir() / "hermes-venv"
    done = venv / ".threadline-installed"
    if done.exists() and (venv / "bin" / "hermes-acp").exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [[base, "-m", "venv", str(venv)],
             [str(venv / "bin" / "pip"), "install", "--disable-pip-version-check", "-q", "hermes-agent[acp]"]]
    for step in steps:
        try:
            result = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"cannot install hermes-agent[acp] ({' '.join(step[:3])}): {exc}")
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            pytest.skip(f"cannot install hermes-agent[acp] ({' '.join(step[:3])}): {' | '.join(tail)}")
    done.write_text("ok\n")
    return venv


def hermes_version(venv: Path) -> str:
    result = subprocess.run([str(venv / "bin" / "python"), "-c",
                             "from importlib.metadata import version; print(version('hermes-agent'))"],
                            capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.strip()


async def test_hermes_agent_runs_a_turn_with_a_tool_call(start_app: Started, llm: ScriptedLLM, tmp_path: Path,
                                                         home: Path, artifacts: Path) -> None:
    venv = hermes_venv()
    hermes_home = tmp_path / "hermes-home"
    hermes_home.mkdir()
    (hermes_home / "config.yaml").write_text(
        f"model:\n  provider: custom\n  base_url: {llm.openai_url}\n  default: test-model\n  api_key: test-key\n")
    workspace = home / "workspace"
    llm.script(Turn(tool_calls=[("write_file", {"path": str(workspace / "from-hermes.txt"),
                                                "content": "written by Hermes\n"})]),
               Turn(text="I wrote from-hermes.txt."))
    async with start_app() as (_app, client):
        r = await client.post("/api/runtimes", json={
            "name": "hermes", "command": str(venv / "bin" / "hermes-acp"),
            "env": {"HERMES_HOME": str(hermes_home), "HERMES_DISABLE_LAZY_INSTALLS": "1",
                    "OPENAI_API_KEY": "test-key"}})
        assert r.status_code == 200, r.text
        probe = (await client.post("/api/runtimes/test", json={"name": "hermes"})).json()
        assert probe["ok"] is True, probe
        sid = await new_session(client, "hermes")
        started = time.monotonic()
        stream_id = await start(client, sid, "Please write the file.")
        pending = await answer_approval(client, sid, "once", wait=120)  # Hermes asks before it writes
        frames = await read_events(client, stream_id)
        took = time.monotonic() - started
        session = await wait_idle(client, sid)
    names = [f[1] for f in frames]
    assert names[-1] == "stream_end", frames[-3:]
    assert "tool" in names and "tool_complete" in names, names
    assert pending["pending"]["tool"] == "hermes.edit" and "+written by Hermes" in pending["pending"]["description"]
    assert (workspace / "from-hermes.txt").read_text() == "written by Hermes\n"
    assert "I wrote from-hermes.txt." in text_of(frames)
    roles = [m["role"] for m in session["messages"]]
    assert roles[0] == "user" and "tool" in roles and roles[-1] == "assistant"
    version = hermes_version(venv)
    (artifacts / "hermes.json").write_text(json.dumps(
        {"hermes_agent": version, "agent": probe.get("agent"), "turn_seconds": round(took, 2)}, indent=2))
    print(f"\nHermes Agent {version}: a turn with a tool call took {took:.1f} s")
