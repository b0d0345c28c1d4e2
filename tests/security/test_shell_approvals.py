"""Shell approvals cover whole command lines, not prefixes (issue 10 item 1).

After "always" for ``ls``, every line of the bypass corpus must be asked again: a representative
subset through a real run with the scripted model (the command must not have run when the card
shows, nor after "deny"), and all of them as unit tests of the analyser. Benign lines are covered.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import make_settings
from tests.llm_server import ScriptedLLM, Turn
from tests.runs.conftest import llm_env, read_events, serve, wait_idle
from threadline.agent.tools.base import ToolContext
from threadline.agent.tools.commands import analyse
from threadline.agent.tools.shell import RunShell
from threadline.web.app import create_app
from threadline.workspace.jail import Jail

# The seven lines of the issue, then our own. Each must be asked after "always ls".
ISSUE = [
    "ls && touch /tmp/x", "ls | sh", "ls $(touch x)", "ls `touch x`", "ls & touch x", "ls || true && touch x",
    "ls; touch x",
]
OWN = [
    "ls | bash", "ls | /bin/sh -s", "ls\ntouch x", "ls\r\ntouch x", "ls;touch x", "ls&touch x", "ls|tee x|sh",
    'ls "$(touch x)"', "ls \"`touch x`\"", 'ls "a$(touch x)b"', "ls '$(a)' \"$(touch x)\"", "ls $(echo $(touch x))",
    "ls ${x:-$(touch x)}", "ls <(touch x)", "ls >(touch x)", "ls <<< \"$(touch x)\"",
    "cat <<EOF\n$(touch x)\nEOF", "ls <<EOF\n`touch x`\nEOF", "ls <<EOF\nEO\\\nF\ntouch x\nEOF",
    "ls > /etc/passwd", "ls >> /root/.bashrc", "ls 2> /tmp/x", "ls > ../x", "ls > a/../../x", "ls &> /etc/x",
    "ls >& /etc/x", "ls > ~/x", "ls > $HOME/x", "ls > \"$(touch x)\"", "cd .. && ls > x", "cd / ; ls > etc/passwd",
    "FOO=$(touch x) ls", "PATH=. ls", "LD_PRELOAD=./evil.so ls", "export PATH=.; ls", "IFS=x ls",
    "command ls; touch x", "command ls", "builtin ls", "exec ls", "exec touch x", "eval ls", "eval 'ls; touch x'",
    "env ls", "env sh -c ls", "/usr/bin/env touch x", "xargs sh", "ls | xargs touch", "ls | xargs -I{} sh -c {}",
    "sudo ls", "nohup ls", "time ls", "timeout 5 ls", "nice ls", "sh -c ls", "bash -c 'ls; touch x'", ". ./x",
    "source ./x", "trap 'touch x' EXIT; ls", "(ls; touch x)", "(ls) && touch x", "{ ls; touch x; }",
    "{ ls; } && touch x", "ls && { touch x; }", "alias ls='touch x'\nls", "ls() { touch x; }; ls", "function ls { :; }",
    "if ls; then touch x; fi", "for f in a; do ls; done", "while ls; do break; done", "! ls", "[[ -f x ]] && ls",
    "\\ls; touch x", "'ls' && touch x", "l's' && touch x", "ls\\\n&& touch x", "$X", "$0", '"$@"', "${ls}", "l?",
    "l*", "[l]s", "~/ls", "{ls,-la}", "$'ls'", "lѕ", "ｌｓ", "ls\u200b", "ls\u00a0&&\u00a0touch x", "ls\x00; touch x",
    "ls 'unterminated", 'ls "unterminated', "ls `unterminated", "ls $(unterminated", "ls \\", "ls &&", "&& ls",
    "ls ;; touch x", "((1)) && ls", "ls $((1+$(touch x)))", "ls $[1]", "hash -p /bin/touch ls; ls x",
    "printf -v PATH %s .; ls", "read PATH < f; ls", "ls > out.txt && touch x", "", "   ", "> out.txt", "# ls",
    "ls " + "x " * 60_000,
]
CORPUS = ISSUE + OWN
APPROVED = frozenset({"ls"})


def covered(line: str, approved: frozenset[str] = APPROVED) -> bool:
    analysis = analyse(line)
    return analysis.coverable and set(analysis.programs) <= approved


@pytest.mark.parametrize("line", CORPUS)
def test_the_bypass_corpus_is_asked_after_always_ls(line: str) -> None:
    assert not covered(line), analyse(line)


@pytest.mark.parametrize("line", [
    "ls $(touch x)", "ls `touch x`", 'ls "$(ls)"', "ls <(ls)", "FOO=$(ls) ls", "cat <<EOF\n$(ls)\nEOF",
    "ls | sh", "env ls", "command ls", "exec ls", "ls > /etc/x", "ls > ../x", "FOO=1 ls", "$X", "ls $((1))",
])
def test_no_approval_can_ever_cover_these_lines(line: str) -> None:
    """Not even with every program approved: substitutions, wrappers, escapes are asked every time."""
    everything = frozenset(analyse(line).programs) | {"ls", "touch", "sh", "env", "command", "exec", "cat"}
    assert not covered(line, everything) and analyse(line).problems


@pytest.mark.parametrize(("line", "programs", "paths"), [
    ("ls -la", ("ls",), ()),
    ("ls | grep x", ("ls", "grep"), ()),
    ("ls > out.txt", ("ls",), ("out.txt",)),
    ("ls -la 2>&1 | grep -v '^total' > listing/out.txt 2>/dev/null", ("ls", "grep"), ("listing/out.txt",)),
    ("git status && git diff --stat; npm test || true", ("git", "npm", "true"), ()),
    ("(make -C src && cd src) 2>&1 && ls -d /etc", ("make", "cd", "ls"), ()),
    ("cat <<'EOF' > notes.md\n$(not run) `nor this`\nEOF", ("cat",), ("notes.md",)),
    ("cat <<EOF\nplain $HOME text\nEOF\nwc -l notes.md", ("cat", "wc"), ()),
    ("[ -f x ] && echo yes # ; rm -rf /", ("[", "echo"), ()),
    ("python3 -m pytest -x -q tests/ \\\n  --maxfail=1", ("python3",), ()),
    ("echo 'a;b|c' \"d&&e\" f\\;g $HOME ${HOME} $1 \"$@\"", ("echo",), ()),
    ("./build.sh --fast", ("./build.sh",), ()),
])
def test_benign_lines_are_read_exactly(line: str, programs: tuple[str, ...], paths: tuple[str, ...]) -> None:
    analysis = analyse(line)
    assert analysis.problems == () and analysis.programs == programs and analysis.paths == paths


def test_benign_lines_are_covered_once_their_programs_are() -> None:
    assert covered("ls -la") and covered("ls > out.txt")
    assert not covered("ls | grep x") and covered("ls | grep x", frozenset({"ls", "grep"}))


@given(st.text(alphabet=st.sampled_from(list("ls xy;&|()<>$`'\"\\{}*?~#=\n\t!-_/.0123456789")), max_size=60))
@settings(max_examples=400, deadline=None, database=None)
def test_the_reader_never_fails_and_never_covers_what_the_shell_reads_differently(line: str) -> None:
    """Any text gives an answer; whatever is coverable names only plain program words."""
    analysis = analyse(line)
    if analysis.coverable:
        assert all(p and not set(p) & set(" ;&|()<>$`'\"\\{}*?~#=\n\t!") for p in analysis.programs)


def test_a_redirection_through_a_symlink_out_of_the_workspace_cannot_be_covered(tmp_path: Path) -> None:
    workspace, outside = tmp_path / "ws", tmp_path / "outside.txt"
    workspace.mkdir()
    os.symlink(outside, workspace / "link.txt")
    ctx = ToolContext(jail=Jail(workspace))
    scope = RunShell().approval_scope({"command": "ls > link.txt"}, ctx)
    assert scope.patterns is None and "link.txt" in scope.reason
    assert RunShell().approval_scope({"command": "ls > out.txt"}, ctx).patterns == ("ls",)
    assert RunShell().approval_scope({"command": "ls | grep x"}, ctx).patterns == ("ls", "grep")


# -- the same through real runs ---------------------------------------------------------------------

# Each would create ``pwned-N`` in the workspace if it ran.
RUN_CORPUS = [
    "ls && touch pwned-1", "ls | sh", "ls $(touch pwned-3)", "ls `touch pwned-4`", "ls & touch pwned-5",
    "ls || true && touch pwned-6", "ls; touch pwned-7", "ls\ntouch pwned-8", "FOO=$(touch pwned-9) ls",
    'ls "$(touch pwned-10)"', "ls > ../escaped.txt", "command ls; touch pwned-12",
    "env sh -c 'touch pwned-13'", "ls | xargs touch pwned-14", "(ls; touch pwned-15)", "{ ls; touch pwned-16; }",
    "cat <<EOF\n$(touch pwned-17)\nEOF",
]


@pytest.fixture
async def client(home: Path, llm: ScriptedLLM) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(home, default_model="openai/test-model", approval_timeout_seconds=10.0),
                     env=llm_env(llm))
    (home / "workspace" / "touch pwned-2").write_text("")  # ``ls | sh`` would run this name
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as c:
        yield c


async def run_shell(client: httpx.AsyncClient, llm: ScriptedLLM, home: Path, sid: str, *commands: str,
                    answer: str = "deny") -> list[dict[str, Any]]:
    """One turn calling ``run_shell`` for each command; answers every approval with ``answer`` and
    returns the approvals asked, after checking that nothing ran before the answer."""
    llm.script(Turn(tool_calls=[("run_shell", {"command": c}) for c in commands]), Turn(text="done"))
    stream = (await client.post("/api/chat/start", json={"session_id": sid, "message": "go"})).json()["stream_id"]
    asked: list[dict[str, Any]] = []
    after = None
    while True:
        frames = await read_events(client, stream, after=after, until={"approval", "stream_end", "apperror"})
        after = frames[-1][0]
        if frames[-1][1] != "approval":
            break
        asked.append(frames[-1][2])
        assert not pwned(home), f"{frames[-1][2]['command']!r} ran before it was approved"
        r = await client.post("/api/approval/respond", json={"session_id": sid, "choice": answer,
                                                              "approval_id": frames[-1][2]["approval_id"]})
        assert r.status_code == 200 and r.json()["matched"]
    await wait_idle(client, sid)
    return asked


def pwned(home: Path) -> list[str]:
    """What the corpus would have created, anywhere under the test's home."""
    return sorted(p.name for p in home.rglob("*") if p.name.startswith("pwned") or p.name == "escaped.txt")


async def test_after_always_ls_the_bypass_corpus_asks_in_a_real_run(
    client: httpx.AsyncClient, llm: ScriptedLLM, home: Path
) -> None:
    sid = (await client.post("/api/session/new", json={})).json()["session"]["session_id"]
    first = await run_shell(client, llm, home, sid, "ls", answer="always")
    assert len(first) == 1
    assert await run_shell(client, llm, home, sid, "ls -la", "ls > out.txt") == []  # covered: not asked
    assert (home / "workspace" / "out.txt").exists()

    asked = await run_shell(client, llm, home, sid, *RUN_CORPUS)
    assert [a["command"] for a in asked] == RUN_CORPUS  # every line asked, none ran
    assert pwned(home) == []
    assert first[0]["covers"] == ["ls"] and "ls" in first[0]["covers_text"]
    unclassifiable = {a["command"]: a for a in asked if a["covers"] is None}
    assert set(unclassifiable) >= {"ls $(touch pwned-3)", "ls `touch pwned-4`", "ls | sh", "FOO=$(touch pwned-9) ls",
                                   "env sh -c 'touch pwned-13'", "cat <<EOF\n$(touch pwned-17)\nEOF"}
    assert all("cannot be approved for later" in a["covers_text"] for a in unclassifiable.values())
    assert next(a for a in asked if a["command"] == "ls && touch pwned-1")["covers"] == ["ls", "touch"]
    session = await wait_idle(client, sid)
    denied = [m for m in session["messages"] if m["role"] == "tool" and m.get("approval") == "denied"]
    assert len(denied) == len(RUN_CORPUS)


async def test_always_for_an_unclassifiable_line_acts_as_once(
    client: httpx.AsyncClient, llm: ScriptedLLM, home: Path
) -> None:
    sid = (await client.post("/api/session/new", json={})).json()["session"]["session_id"]
    line = "ls $(echo .)"
    assert len(await run_shell(client, llm, home, sid, line, answer="always")) == 1
    assert len(await run_shell(client, llm, home, sid, line, answer="deny")) == 1  # asked again
    assert (await client.get("/api/approvals")).json()["approvals"] == []
    # "always" for a pipeline stores each program; the same line then runs unasked.
    assert len(await run_shell(client, llm, home, sid, "ls | grep x", answer="always")) == 1
    assert await run_shell(client, llm, home, sid, "ls | grep -v y") == []
    assert len(await run_shell(client, llm, home, sid, "ls | grep x | touch pwned")) == 1
