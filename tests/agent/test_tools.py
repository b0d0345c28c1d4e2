"""The built-in workspace tools, called directly."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.workspace_files import SHOWN_FILE, SHOWN_FOLDER, big_tree, fifo_in, undecodable_tree
from threadline.agent.tools import ToolContext, default_tools, truncate, validate_args
from threadline.agent.tools.base import ToolResult
from threadline.agent.tools.files import MAX_SEARCH_MATCHES, READ_CAP
from threadline.agent.tools.shell import shell_env
from threadline.errors import BadRequest
from threadline.workspace import HardLinked, NotRegular, Unsupported, pool
from threadline.workspace.jail import PathEscape, PathMissing

TOOLS = default_tools()


async def call(ctx: ToolContext, name: str, **args: Any) -> ToolResult:
    tool = TOOLS.get(name)
    assert tool is not None
    assert validate_args(tool.parameters, args) is None
    return await tool.run(args, ctx)


def test_registry_specs() -> None:
    names = [spec.name for spec in TOOLS.specs()]
    assert names == ["list_files", "read_file", "write_file", "edit_file", "search_files", "run_shell"]
    assert [t.name for t in TOOLS if t.dangerous] == ["run_shell"]
    assert "run_shell" not in default_tools(shell=False)
    for spec in TOOLS.specs():
        assert spec.parameters["type"] == "object" and spec.description


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({}, "missing required argument(s): path"),
        ({"path": 3}, "argument 'path' must be of type string, not int"),
        ({"path": "a", "start_line": "1"}, "argument 'start_line' must be of type integer, not str"),
        ({"path": "a", "start_line": True}, "argument 'start_line' must be of type integer, not bool"),
        ([], "arguments must be a JSON object"),
        ({"path": "a", "start_line": 2.0, "extra": 1}, None),
        ({"path": "a", "end_line": None}, None),
    ],
)
def test_validate_args(args: Any, problem: str | None) -> None:
    tool = TOOLS.get("read_file")
    assert tool is not None
    assert validate_args(tool.parameters, args) == problem


def test_truncate_keeps_head_and_tail() -> None:
    text = "".join(f"line {i}\n" for i in range(10_000))
    cut = truncate(text, 1000)
    assert cut.startswith("line 0\n") and cut.endswith("line 9999\n")
    assert "[truncated " in cut and len(cut.encode()) < 1100
    assert truncate("short", 1000) == "short"


async def test_write_read_list(ctx: ToolContext, workspace: Path) -> None:
    result = await call(ctx, "write_file", path="notes/deep/a.txt", content="one\ntwo\nthree\n")
    assert result == ToolResult("Wrote 14 bytes to notes/deep/a.txt")
    assert (workspace / "notes/deep/a.txt").read_text() == "one\ntwo\nthree\n"
    assert (await call(ctx, "read_file", path="notes/deep/a.txt")).text == "one\ntwo\nthree\n"
    assert (await call(ctx, "read_file", path="notes/deep/a.txt", start_line=2, end_line=2)).text == "two\n"
    assert (await call(ctx, "read_file", path="notes/deep/a.txt", start_line=3)).text == "three\n"
    assert "fewer than 9 lines" in (await call(ctx, "read_file", path="notes/deep/a.txt", start_line=9)).text
    (workspace / ".git").mkdir()
    (workspace / ".git" / "HEAD").write_text("ref")
    (workspace / "b.txt").write_text("b")
    assert (await call(ctx, "list_files")).text == ".git/\nb.txt\nnotes/"
    listed = (await call(ctx, "list_files", path=".", recursive=True)).text
    assert listed.splitlines() == ["b.txt", "notes/", "notes/deep/", "notes/deep/a.txt"]
    assert (await call(ctx, "list_files", path="notes/deep")).text == "notes/deep/a.txt"


async def test_read_refusals_and_caps(ctx: ToolContext, workspace: Path) -> None:
    (workspace / "bin.dat").write_bytes(b"\x7fELF\x00\x01\x02")
    with pytest.raises(Unsupported, match="binary"):
        await call(ctx, "read_file", path="bin.dat")
    (workspace / "big.txt").write_text("0123456789abcdef\n" * 20_000)  # 340 KB
    result = await call(ctx, "read_file", path="big.txt")
    assert not result.is_error and len(result.text) < READ_CAP + 200
    assert "use start_line to read further" in result.text
    result = await call(ctx, "read_file", path="big.txt", start_line=19_999)
    assert result.text == "0123456789abcdef\n" * 2
    with pytest.raises(PathMissing):
        await call(ctx, "read_file", path="missing.txt")
    with pytest.raises(PathEscape):
        await call(ctx, "read_file", path="../outside.txt")
    with pytest.raises(BadRequest, match="is a folder"):
        await call(ctx, "read_file", path=".")
    with pytest.raises(BadRequest, match="start_line"):
        await call(ctx, "read_file", path="big.txt", start_line=5, end_line=2)


async def test_write_refuses_escape_and_folders(ctx: ToolContext, workspace: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path, workspace / "up")
    with pytest.raises(PathEscape):
        await call(ctx, "write_file", path="up/evil.txt", content="x")
    assert not (tmp_path / "evil.txt").exists()
    (workspace / "dir").mkdir()
    with pytest.raises(BadRequest, match="folder"):
        await call(ctx, "write_file", path="dir", content="x")
    with pytest.raises(BadRequest, match="needs a name"):
        await call(ctx, "write_file", path=".", content="x")


async def test_edit_file(ctx: ToolContext, workspace: Path) -> None:
    target = workspace / "code.py"
    target.write_text("a = 1\nb = 1\nc = 2\n")
    result = await call(ctx, "edit_file", path="code.py", old="c = 2", new="c = 3")
    assert result == ToolResult("Replaced 1 occurrence in code.py")
    with pytest.raises(BadRequest, match="not found"):
        await call(ctx, "edit_file", path="code.py", old="zzz", new="y")
    with pytest.raises(BadRequest, match="2 times"):
        await call(ctx, "edit_file", path="code.py", old="= 1", new="= 5")
    assert target.read_text() == "a = 1\nb = 1\nc = 3\n"
    result = await call(ctx, "edit_file", path="code.py", old="= 1", new="= 5", replace_all=True)
    assert result.text == "Replaced 2 occurrences in code.py"
    assert target.read_text() == "a = 5\nb = 5\nc = 3\n"
    with pytest.raises(BadRequest, match="must not be empty"):
        await call(ctx, "edit_file", path="code.py", old="", new="x")


async def test_search_files(ctx: ToolContext, workspace: Path) -> None:
    (workspace / "src").mkdir()
    (workspace / "src" / "a.py").write_text("def alpha():\n    return 1\n")
    (workspace / "src" / "b.txt").write_text("alpha beta\n")
    (workspace / "bin.dat").write_bytes(b"alpha\x00")
    (workspace / "node_modules").mkdir()
    (workspace / "node_modules" / "x.js").write_text("alpha")
    result = await call(ctx, "search_files", pattern=r"alph\w")
    assert result.text == "src/a.py:1: def alpha():\nsrc/b.txt:1: alpha beta"
    assert (await call(ctx, "search_files", pattern="alpha", glob="*.py")).text == "src/a.py:1: def alpha():"
    assert (await call(ctx, "search_files", pattern="alpha", path="src/b.txt")).text == "src/b.txt:1: alpha beta"
    assert (await call(ctx, "search_files", pattern="zeta")).text == "no matches"
    with pytest.raises(BadRequest, match="invalid regular expression"):
        await call(ctx, "search_files", pattern="(unclosed")
    (workspace / "many.txt").write_text("hit\n" * 1000)
    many = (await call(ctx, "search_files", pattern="hit")).text.splitlines()
    assert len(many) == MAX_SEARCH_MATCHES + 1 and many[-1].startswith("[stopped after")


async def test_shell_runs_in_workspace(ctx: ToolContext, workspace: Path) -> None:
    result = await call(ctx, "run_shell", command="pwd; echo err >&2; exit 3")
    assert result.is_error
    assert result.text == f"{workspace}\nerr\n[exit code 3]"
    ok = await call(ctx, "run_shell", command="echo hi > out.txt && cat out.txt")
    assert ok == ToolResult("hi\n[exit code 0]")
    assert (await call(ctx, "run_shell", command="   ")).is_error


async def test_shell_timeout_kills_the_group(ctx: ToolContext) -> None:
    short = replace(ctx, shell_timeout=0.3)
    started = time.monotonic()
    result = await call(short, "run_shell", command="echo before; sleep 20 & sleep 20; echo after")
    assert time.monotonic() - started < 3
    assert result.is_error and "timed out after 0.3 s" in result.text and "before" in result.text
    assert result.text.startswith("before\n[timed out")


async def test_shell_output_cap(ctx: ToolContext) -> None:
    small = replace(ctx, output_cap=2000)
    result = await call(small, "run_shell", command="seq 1 100000")
    assert result.text.startswith("1\n2\n3\n")
    assert result.text.endswith("99999\n100000\n[exit code 0]")
    assert "[truncated " in result.text and len(result.text) < 2200


async def test_shell_does_not_wait_for_background_output(ctx: ToolContext) -> None:
    started = time.monotonic()
    result = await call(ctx, "run_shell", command="sleep 5 & echo started")
    assert time.monotonic() - started < 2
    assert result.text.startswith("started\n") and "not waited for" in result.text


async def test_shell_environment_has_no_secrets(ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    monkeypatch.setenv("THREADLINE_PASSWORD", "hunter2")
    monkeypatch.setenv("HARMLESS_VALUE", "visible")
    result = await call(ctx, "run_shell", command="env")
    assert "visible" in result.text
    assert "sk-should-not-leak" not in result.text and "hunter2" not in result.text
    assert shell_env({"GITHUB_TOKEN": "x", "PATH": "/bin"}) == {"PATH": "/bin"}



@pytest.fixture
def fifo(workspace: Path) -> Iterator[Path]:
    with fifo_in(workspace) as path:
        yield path


async def test_write_is_atomic_and_keeps_the_mode(ctx: ToolContext, workspace: Path) -> None:
    target = workspace / "script.sh"
    target.write_text("old\n")
    target.chmod(0o750)
    before = target.stat().st_ino
    reader = target.open()  # someone reading the old version keeps it whole
    await call(ctx, "write_file", path="script.sh", content="new\n")
    assert target.read_text() == "new\n" and reader.read() == "old\n"
    reader.close()
    assert target.stat().st_ino != before, "replaced by rename, not rewritten in place"
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    await call(ctx, "edit_file", path="script.sh", old="new", new="newer")
    assert stat.S_IMODE(target.stat().st_mode) == 0o750 and target.read_text() == "newer\n"
    assert [p.name for p in workspace.iterdir()] == ["script.sh"]  # no temporary file left


async def test_hard_links_are_not_written_through(ctx: ToolContext, workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    os.link(outside, workspace / "linked.txt")
    with pytest.raises(HardLinked, match="2 hard links"):
        await call(ctx, "write_file", path="linked.txt", content="pwned\n")
    with pytest.raises(HardLinked):
        await call(ctx, "edit_file", path="linked.txt", old="keep", new="pwned")
    assert outside.read_text() == "keep me\n"
    # Reading is allowed (a hard link is the same file), and documented as such.
    assert (await call(ctx, "read_file", path="linked.txt")).text == "keep me\n"


async def test_fifos_are_refused_or_skipped_promptly(ctx: ToolContext, workspace: Path, fifo: Path) -> None:
    (workspace / "notes.txt").write_text("needle\n")

    async def soon(name: str, **args: Any) -> ToolResult:
        return await asyncio.wait_for(call(ctx, name, **args), 5)

    for name, args in (("read_file", {"path": "pipe"}), ("search_files", {"pattern": "x", "path": "pipe"}),
                       ("edit_file", {"path": "pipe", "old": "a", "new": "b"}),
                       ("write_file", {"path": "pipe", "content": "x"})):
        with pytest.raises(NotRegular, match="pipe is not a regular file"):
            await soon(name, **args)
    found = await soon("search_files", pattern="needle")
    assert found.text == "notes.txt:1: needle\n[not searched, not regular files (FIFOs, sockets, devices): pipe]"
    assert (await soon("list_files")).text == "notes.txt\npipe"
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # never replaced by a regular file


async def test_names_that_are_not_utf8(ctx: ToolContext, workspace: Path) -> None:
    raw = undecodable_tree(workspace)
    listed = (await call(ctx, "list_files", recursive=True)).text
    assert listed == f"{SHOWN_FOLDER}/\n{SHOWN_FILE}"
    listed.encode("utf-8")  # no lone surrogates: it can be stored and streamed
    assert (await call(ctx, "search_files", pattern="needle")).text == f"{SHOWN_FILE}:1: needle"
    # The shown path still names the file.
    assert (await call(ctx, "read_file", path=SHOWN_FILE)).text == "needle\n"
    await call(ctx, "edit_file", path=SHOWN_FILE, old="needle", new="pin")
    with open(raw, "rb") as handle:
        assert handle.read() == b"pin\n"


async def test_a_cancelled_search_frees_its_thread(ctx: ToolContext, workspace: Path) -> None:
    """One pool thread; a search over a tree that takes minutes is cancelled: the thread is free again
    at once, not when the search would have ended."""
    big_tree(workspace, links=2000)
    single = pool.acquire(1)
    try:
        search = asyncio.create_task(call(ctx, "search_files", pattern="NOT-THERE"))
        await asyncio.sleep(0.5)
        assert not search.done()
        search.cancel()
        started = time.monotonic()
        assert await asyncio.wait_for(single.run(sum, [1, 2]), 10) == 3
        freed = time.monotonic() - started
        with pytest.raises(asyncio.CancelledError):
            await search
    finally:
        pool.release(single)
    assert freed < 5, freed

