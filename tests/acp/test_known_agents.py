"""The ACP commands docs/agents.md gives for Claude Code, Gemini CLI and Codex: installed from the npm
registry once into ``~/.cache/threadline-tests/npm-agents`` (``THREADLINE_TEST_CACHE`` moves it), each
answers Threadline's ``initialize`` through ``POST /api/runtimes/test``, and Claude Code runs a whole
turn. Skipped, saying why, without npm or when the packages cannot be installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.acp.conftest import Started, answer_approval, new_session, read_events, start, text_of, wait_idle
from tests.acp.test_hermes import cache_dir
from tests.llm_server import ScriptedLLM

pytestmark = pytest.mark.slow

PACKAGES = ("@agentclientprotocol/claude-agent-acp", "@zed-industries/codex-acp", "@google/gemini-cli")
AGENTS = [  # name, program, arguments, the agent's name in its answer
    ("claude", "claude-agent-acp", [], "@agentclientprotocol/claude-agent-acp"),
    ("codex", "codex-acp", [], "codex-acp"),
    ("gemini", "gemini", ["--acp"], "gemini-cli"),
]


def npm_agents() -> Path:
    prefix = cache_dir() / "npm-agents"
    bin_dir = prefix / "node_modules" / ".bin"
    if all((bin_dir / program).exists() for _, program, _, _ in AGENTS):
        return bin_dir
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the Node.js agents cannot be installed")
    prefix.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), *PACKAGES],
                                capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot install {', '.join(PACKAGES)}: {exc}")
    if result.returncode != 0:
        pytest.skip(f"cannot install {', '.join(PACKAGES)}: {result.stderr.strip().splitlines()[-1:]}")
    return bin_dir


@pytest.mark.parametrize(("name", "program", "args", "agent_name"), AGENTS)
async def test_the_documented_agents_answer_initialize(start_app: Started, tmp_path: Path, name: str,
                                                       program: str, args: list[str], agent_name: str) -> None:
    bin_dir = npm_agents()
    agent_home = tmp_path / "agent-home"
    agent_home.mkdir()
    async with start_app() as (_app, client):
        r = await client.post("/api/runtimes", json={"name": name, "command": str(bin_dir / program), "args": args,
                                                     "env": {"HOME": str(agent_home)}})
        assert r.status_code == 200, r.text
        result = (await client.post("/api/runtimes/test", json={"name": name})).json()
    assert result["ok"] is True, result
    assert result["protocol_version"] == 1 and result["agent"]["name"] == agent_name


async def test_claude_code_runs_a_turn_with_a_tool_call(start_app: Started, llm: ScriptedLLM, tmp_path: Path,
                                                        home: Path) -> None:
    """Claude Code's adapter, on the scripted LLM server's Anthropic API: it asks to write a file (a
    Threadline approval, with the diff), is allowed once, writes it, and the turn is stored."""
    bin_dir = npm_agents()
    agent_home = tmp_path / "agent-home"
    agent_home.mkdir()
    target = home / "workspace" / "from-claude.txt"
    directive = json.dumps({"file_path": str(target), "content": "written by Claude\n"})
    async with start_app() as (_app, client):
        await client.post("/api/runtimes", json={"name": "claude", "command": str(bin_dir / "claude-agent-acp"),
                                                 "env": {"HOME": str(agent_home), "ANTHROPIC_API_KEY": "test-key",
                                                         "ANTHROPIC_BASE_URL": llm.anthropic_url}})
        sid = await new_session(client, "claude")
        stream_id = await start(client, sid, f"Write the file. [[tool=Write {directive}]]")
        pending = (await answer_approval(client, sid, "once", wait=120))["pending"]
        frames = await read_events(client, stream_id)
        session = await wait_idle(client, sid)
    assert pending["tool"] == "claude.edit" and "+written by Claude" in pending["description"]
    assert target.read_text() == "written by Claude\n"
    names = [f[1] for f in frames]
    assert names[-1] == "stream_end" and "tool" in names and "tool_complete" in names
    assert "File created successfully" in text_of(frames)
    assert [m["role"] for m in session["messages"]] == ["user", "assistant", "tool", "assistant"]
