"""``terminal/*`` for an agent: commands run as the shell tool runs them (``agent/tools/shell.py``).

Each terminal is a ``ShellProcess``: ``/bin/sh -c`` in its own process group, in the workspace (or a
folder inside it), the server's environment without secrets plus the variables the agent asked for,
the shell tool's timeout and output cap (or the agent's smaller byte limit). The approval comes first,
asked by the caller (``ThreadlineClient``) under the shell tool's rules. A command with arguments is
run as that program with those arguments; a command alone is a command line, as the shell tool takes it.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from acp import RequestError
from acp.schema import TerminalExitStatus

from threadline.agent.tools.shell import ShellProcess, shell_env
from threadline.workspace import Jail

MAX_TERMINALS = 16


def command_line(command: str, args: list[str] | None) -> str:
    return shlex.join([command, *args]) if args else command


@dataclass
class Terminal:
    shell: ShellProcess
    waiter: asyncio.Task[bool]

    def exit_status(self) -> TerminalExitStatus | None:
        if not self.waiter.done():
            return None
        code = self.shell.returncode
        if code is not None and code >= 0:
            return TerminalExitStatus(exit_code=code, signal=None)
        try:
            name = signal.Signals(-code).name if code is not None else "SIGKILL"
        except ValueError:
            name = f"signal {-(code or 0)}"
        return TerminalExitStatus(exit_code=None, signal=name)


class Terminals:
    """The terminals of one agent process."""

    def __init__(self, *, timeout: float, output_cap: int) -> None:
        self.timeout = timeout
        self.output_cap = output_cap
        self._terminals: dict[str, Terminal] = {}
        self._released: dict[str, str] = {}  # the last output of released terminals, for tool calls that show them

    async def create(self, jail: Jail, line: str, *, cwd: str | None, env: Mapping[str, str],
                     byte_limit: int | None) -> str:
        if len(self._terminals) >= MAX_TERMINALS:
            raise RequestError.invalid_request({"message": f"at most {MAX_TERMINALS} terminals at once; "
                                                           "release one first"})
        folder = jail.resolve(cwd, must_exist=True) if cwd else jail.root
        if not folder.is_dir():
            raise RequestError.invalid_params({"message": f"cwd is not a folder: {cwd}"})
        cap = min(self.output_cap, byte_limit) if byte_limit else self.output_cap
        shell = await ShellProcess.start(line, cwd=folder, env={**shell_env(os.environ), **env}, cap=max(cap, 256))
        terminal_id = f"term-{uuid.uuid4().hex[:12]}"
        self._terminals[terminal_id] = Terminal(shell, asyncio.create_task(shell.wait(self.timeout)))
        return terminal_id

    def get(self, terminal_id: str) -> Terminal:
        terminal = self._terminals.get(terminal_id)
        if terminal is None:
            raise RequestError.invalid_params({"message": f"no terminal {terminal_id!r}"})
        return terminal

    def output(self, terminal_id: str) -> str:
        """What the terminal printed so far, for a tool call that embeds it ('' if it is gone)."""
        terminal = self._terminals.get(terminal_id)
        return terminal.shell.output() if terminal is not None else self._released.get(terminal_id, "")

    async def wait(self, terminal_id: str) -> TerminalExitStatus:
        terminal = self.get(terminal_id)
        await asyncio.shield(terminal.waiter)
        status = terminal.exit_status()
        assert status is not None
        return status

    def kill(self, terminal_id: str) -> None:
        self.get(terminal_id).shell.kill()

    async def release(self, terminal_id: str) -> None:
        terminal = self._terminals.pop(terminal_id, None)
        if terminal is not None:
            await self._end(terminal)
            self._released[terminal_id] = terminal.shell.output()
            while len(self._released) > MAX_TERMINALS:
                del self._released[next(iter(self._released))]

    async def close(self) -> None:
        """Kill every terminal (a cancelled turn, a stopped agent)."""
        terminals, self._terminals = list(self._terminals.values()), {}
        for terminal in terminals:
            await self._end(terminal)

    @staticmethod
    async def _end(terminal: Terminal) -> None:
        terminal.shell.kill()
        terminal.waiter.cancel()
        await asyncio.wait([terminal.waiter], timeout=5)
