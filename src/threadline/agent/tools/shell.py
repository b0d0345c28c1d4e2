"""``run_shell``: ``/bin/sh -c`` in the workspace, in its own process group, with a timeout and an output cap.

A timeout or a cancellation (asyncio task cancel) kills the whole process group. The environment is
the server's minus anything that looks like a secret, unless ``ToolContext.env`` says otherwise.
A standing approval covers a command line by its programs (``commands.analyse``): one pattern per
program, none when the line cannot be covered, e.g. when it redirects through a symlink out of the
workspace.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from threadline.agent.tools.base import ApprovalScope, Tool, ToolContext, ToolResult, error
from threadline.agent.tools.commands import analyse
from threadline.agent.tools.shellsyntax import shown

OUTPUT_GRACE = 0.5  # seconds to wait for output after the shell exits (background children may hold it)
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|^THREADLINE_", re.IGNORECASE)


def shell_env(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` without the variables whose names look like secrets (API keys, tokens, passwords)."""
    return {k: v for k, v in base.items() if not _SECRET_NAME.search(k)}


class _Capture:
    """Keeps the first and last parts of a stream, up to ``cap`` bytes, and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.head_cap, self.tail_cap = cap * 2 // 3, cap - cap * 2 // 3
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.tail_cap:
                del self.tail[: len(self.tail) - self.tail_cap]

    async def drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.add(chunk)

    def text(self) -> str:
        dropped = self.total - len(self.head) - len(self.tail)
        head = self.head.decode("utf-8", "replace")
        if dropped <= 0:
            return head + self.tail.decode("utf-8", "replace")
        return f"{head}\n[truncated {dropped} bytes]\n{self.tail.decode('utf-8', 'replace')}"


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class RunShell(Tool):
    name = "run_shell"
    description = (
        "Run a shell command (/bin/sh -c) in the workspace root and return its combined stdout and stderr "
        "and its exit code. Non-interactive: stdin is empty. Long output is cut in the middle."
    )
    parameters = {
        "type": "object",
        "properties": {"command": {"type": "string", "description": "The command line to run."}},
        "required": ["command"],
    }
    dangerous = True

    def describe(self, args: dict[str, Any]) -> str:
        return str(args.get("command", ""))

    def approval_scope(self, args: dict[str, Any], ctx: ToolContext) -> ApprovalScope:
        command = args.get("command")
        if not isinstance(command, str):
            return ApprovalScope(None, "the command is not text")
        analysis = analyse(command)
        problems = list(analysis.problems)
        problems += [f"it redirects to {shown(path)}, which leads out of the workspace"
                     for path in analysis.paths if not ctx.jail.contains(path)]
        if problems:
            return ApprovalScope(None, "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else ""))
        return ApprovalScope(analysis.programs)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        command = args["command"]
        if not command.strip():
            return error("the command is empty")
        env = dict(ctx.env) if ctx.env is not None else shell_env(os.environ)
        shell = await ShellProcess.start(command, cwd=ctx.jail.root, env=env,
                                         cap=max(1024, ctx.output_cap - 256))  # room for the notes below
        timed_out = await shell.wait(ctx.shell_timeout)
        text = shell.output()
        if text and not text.endswith("\n"):
            text += "\n"
        if shell.output_held:
            text += "[output still held open by background processes; not waited for]\n"
        if timed_out:
            return error(f"{text}[timed out after {ctx.shell_timeout:g} s; the command was killed]")
        code = shell.returncode
        return ToolResult(f"{text}[exit code {code}]", is_error=code != 0)


class ShellProcess:
    """A command line running under ``/bin/sh -c`` in its own process group, stdin empty, its stdout
    and stderr captured together (head and tail, up to ``cap`` bytes). ``wait`` is called once: it
    enforces the timeout, and a cancelled ``wait`` kills the whole group, as ``kill`` does."""

    def __init__(self, proc: asyncio.subprocess.Process, capture: _Capture, transport: asyncio.BaseTransport,
                 reader: asyncio.Task[None]) -> None:
        self.proc = proc
        self._capture = capture
        self._transport = transport
        self._reader = reader
        self.output_held = False  # the shell exited but background children still held its output

    @classmethod
    async def start(cls, command: str, *, cwd: Path, env: Mapping[str, str], cap: int) -> ShellProcess:
        capture = _Capture(cap)
        # Our own pipe, not asyncio's PIPE: Process.wait() would otherwise also wait for every
        # background child that inherited the output to close it.
        read_fd, write_fd = os.pipe()
        pipe = os.fdopen(read_fd, "rb", buffering=0)
        try:
            transport, output = await _open_reader(pipe)
        except BaseException:
            pipe.close()
            os.close(write_fd)
            raise
        try:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh", "-c", command, cwd=cwd, env=dict(env), start_new_session=True,
                stdin=asyncio.subprocess.DEVNULL, stdout=write_fd, stderr=write_fd,
            )
        except BaseException:
            transport.close()
            raise
        finally:
            os.close(write_fd)
        return cls(proc, capture, transport, asyncio.create_task(capture.drain(output)))

    async def wait(self, timeout: float) -> bool:
        """Wait for the shell to exit and its output to be read; True if it was killed for taking
        longer than ``timeout`` seconds."""
        try:
            try:
                timed_out = await _wait(self.proc, timeout)
                done, _ = await asyncio.wait({self._reader}, timeout=OUTPUT_GRACE)
                self.output_held = not done
            finally:
                self._reader.cancel()
        finally:
            self._transport.close()
        return timed_out

    def kill(self) -> None:
        """Kill the whole group, background children included, while any of it may still run (once
        the shell is reaped and its output closed, the group id may belong to someone else)."""
        if self.proc.returncode is None or not self._reader.done():
            _kill_group(self.proc)

    def output(self) -> str:
        return self._capture.text()

    @property
    def truncated(self) -> bool:
        return self._capture.total > len(self._capture.head) + len(self._capture.tail)

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode


async def _open_reader(pipe: BinaryIO) -> tuple[asyncio.BaseTransport, asyncio.StreamReader]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    return transport, reader


async def _wait(proc: asyncio.subprocess.Process, timeout: float) -> bool:
    """Wait for the shell to exit; True if it had to be killed for taking too long.
    A cancellation kills the process group too, and is passed on."""
    try:
        await asyncio.wait_for(proc.wait(), timeout)
        return False
    except TimeoutError:
        _kill_group(proc)
        await proc.wait()
        return True
    except BaseException:
        _kill_group(proc)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 2)
        raise
