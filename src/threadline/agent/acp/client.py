"""Threadline's side of ACP: what an agent process may ask of its client.

    session/update              -> the current turn, in order (``TurnLink.offer``); dropped between turns
                                   (a ``session/load`` replays history: Threadline has it already)
    session/request_permission  -> the run's approval (``TurnLink.ask_permission``); ``cancelled``
                                   between turns
    fs/read_text_file,          -> the session's workspace through the jail; a path outside it is refused
    fs/write_text_file             with an error that says so
    terminal/*                  -> ``Terminals``, after the shell tool's approval (``TurnLink.ask_terminal``)

Requests arrive on tasks of the connection; the turn handles whatever must be ordered with the stream.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from acp import Agent, RequestError
from acp.schema import (
    CreateElicitationResponse,
    CreateTerminalResponse,
    DeniedOutcome,
    ElicitationMode,
    EnvVariable,
    KillTerminalResponse,
    PermissionOption,
    ReadTextFileResponse,
    ReleaseTerminalResponse,
    RequestPermissionResponse,
    TerminalOutputResponse,
    ToolCallUpdate,
    WaitForTerminalExitResponse,
    WriteTextFileResponse,
)

from threadline.agent.acp.terminals import Terminals, command_line
from threadline.errors import ThreadlineError
from threadline.workspace import Jail, PathEscape, pool, reading, writing

READ_CAP = 10 * 1024 * 1024  # per fs/read_text_file; more is refused, saying how to read it
INVALID_PARAMS = -32602


class TurnLink(Protocol):
    """What the client needs of the turn in progress."""

    def offer(self, update: Any) -> None: ...

    async def ask_permission(self, tool_call: ToolCallUpdate,
                             options: list[PermissionOption]) -> RequestPermissionResponse: ...

    async def ask_terminal(self, line: str, cwd: str | None) -> bool: ...


def cancelled() -> RequestPermissionResponse:
    return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))


def refused(path: str, exc: ThreadlineError, root: Path) -> RequestError:
    """The agent's error for a file request the workspace refused, saying why."""
    if isinstance(exc, PathEscape):
        reason = f"refused: {exc.message}; this client only gives access to the session's workspace, {root}"
    else:
        reason = f"{path}: {exc.message}"
    return RequestError(INVALID_PARAMS, reason, {"path": path})


class ThreadlineClient:
    """The ``acp.Client`` of one agent process, bound to one Threadline session's workspace."""

    def __init__(self, workspace: Path, terminals: Terminals) -> None:
        self.jail = Jail(workspace)
        self.terminals = terminals
        self.turn: TurnLink | None = None
        self.session_id: str | None = None  # the ACP session the process holds

    def shutdown(self) -> None:
        self.turn = None

    def _turn(self, session_id: str) -> TurnLink | None:
        return self.turn if session_id == self.session_id else None

    # -- the stream ------------------------------------------------------------------------------

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        turn = self._turn(session_id)
        if turn is not None:
            turn.offer(update)

    async def request_permission(self, session_id: str, tool_call: ToolCallUpdate, options: list[PermissionOption],
                                 **kwargs: Any) -> RequestPermissionResponse:
        turn = self._turn(session_id)
        if turn is None:
            return cancelled()
        return await turn.ask_permission(tool_call, options)

    # -- files -----------------------------------------------------------------------------------

    async def read_text_file(self, session_id: str, path: str, line: int | None = None, limit: int | None = None,
                             **kwargs: Any) -> ReadTextFileResponse:
        self._require_turn(session_id)
        start = max(line or 1, 1)
        end = start + limit - 1 if limit is not None and limit > 0 else None
        try:
            lines = await pool.run(reading.read_lines, self.jail, path, start, end, READ_CAP)
        except ThreadlineError as exc:
            raise refused(path, exc, self.jail.root) from None
        if lines.truncated:
            raise RequestError(INVALID_PARAMS, f"{lines.path} is longer than {READ_CAP // (1024 * 1024)} MB from "
                               f"line {start}; read it in parts with line and limit", {"path": path})
        return ReadTextFileResponse(content=lines.text)

    async def write_text_file(self, session_id: str, path: str, content: str, **kwargs: Any) -> WriteTextFileResponse:
        self._require_turn(session_id)
        try:
            await pool.run(writing.write, self.jail, path, content)
        except ThreadlineError as exc:
            raise refused(path, exc, self.jail.root) from None
        return WriteTextFileResponse()

    def _require_turn(self, session_id: str) -> None:
        if self._turn(session_id) is None:
            raise RequestError.invalid_request({"message": "no turn of this session is running"})

    # -- terminals -------------------------------------------------------------------------------

    async def create_terminal(self, session_id: str, command: str, args: list[str] | None = None,
                              env: list[EnvVariable] | None = None, cwd: str | None = None,
                              output_byte_limit: int | None = None, **kwargs: Any) -> CreateTerminalResponse:
        turn = self._turn(session_id)
        if turn is None:
            raise RequestError.invalid_request({"message": "no turn of this session is running"})
        line = command_line(command, args)
        if not await turn.ask_terminal(line, cwd):
            raise RequestError(INVALID_PARAMS, f"the user did not allow this command: {line}", {"command": line})
        variables = {v.name: v.value for v in env or []}
        try:
            terminal_id = await self.terminals.create(self.jail, line, cwd=cwd, env=variables,
                                                      byte_limit=output_byte_limit)
        except ThreadlineError as exc:
            raise refused(cwd or ".", exc, self.jail.root) from None
        except OSError as exc:
            raise RequestError(INVALID_PARAMS, f"cannot run {line}: {exc.strerror or exc}", {"command": line}) from None
        return CreateTerminalResponse(terminal_id=terminal_id)

    async def terminal_output(self, session_id: str, terminal_id: str, **kwargs: Any) -> TerminalOutputResponse:
        terminal = self.terminals.get(terminal_id)
        return TerminalOutputResponse(output=terminal.shell.output(), truncated=terminal.shell.truncated,
                                      exit_status=terminal.exit_status())

    async def wait_for_terminal_exit(self, session_id: str, terminal_id: str,
                                     **kwargs: Any) -> WaitForTerminalExitResponse:
        status = await self.terminals.wait(terminal_id)
        return WaitForTerminalExitResponse(exit_code=status.exit_code, signal=status.signal)

    async def kill_terminal(self, session_id: str, terminal_id: str, **kwargs: Any) -> KillTerminalResponse:
        self.terminals.kill(terminal_id)
        return KillTerminalResponse()

    async def release_terminal(self, session_id: str, terminal_id: str, **kwargs: Any) -> ReleaseTerminalResponse:
        await self.terminals.release(terminal_id)
        return ReleaseTerminalResponse()

    # -- the rest of the protocol -----------------------------------------------------------------

    async def create_elicitation(self, message: str, mode: ElicitationMode, **kwargs: Any) -> CreateElicitationResponse:
        raise RequestError.method_not_found("elicitation/create")

    async def complete_elicitation(self, elicitation_id: str, **kwargs: Any) -> None:
        return None

    def on_connect(self, conn: Agent) -> None:
        return None

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        raise RequestError.method_not_found(f"_{method}")

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None

