"""One agent process: spawned over stdio in a session's workspace, initialized, holding one ACP session.

The program runs in its own process group with the configured environment (``AgentConfig.environment``)
and the workspace as its current directory. Its stderr is drained into a short tail, shown when it dies.
Everything it sends is watched (``Watch``): the time it was last heard from (a silent agent is a hung
one) and whether a ``session/load`` was answered with nothing (an agent that no longer knows the session).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, RequestError, connect_to_agent
from acp.connection import StreamDirection, StreamEvent
from acp.core import DEFAULT_STDIO_BUFFER_LIMIT_BYTES, ClientSideConnection
from acp.schema import ClientCapabilities, FileSystemCapabilities, Implementation, InitializeResponse

from threadline import __version__
from threadline.agent.acp.client import ThreadlineClient
from threadline.agent.acp.config import AgentConfig
from threadline.agent.events import ProviderError

log = logging.getLogger("threadline.acp")

STDERR_TAIL = 4000
STOP_GRACE = 2.0
AUTH_REQUIRED = -32000


class Watch:
    """A stream observer: when the agent last sent anything, and which loads came back empty."""

    def __init__(self) -> None:
        self.last_heard = time.monotonic()
        self._loads: set[Any] = set()
        self.empty_loads = 0

    def __call__(self, event: StreamEvent) -> None:
        message = event.message
        if event.direction is StreamDirection.OUTGOING:
            if message.get("method") == "session/load":
                self._loads.add(message.get("id"))
            return
        self.last_heard = time.monotonic()
        if "method" not in message and message.get("id") in self._loads:
            self._loads.discard(message.get("id"))
            if "result" in message and message["result"] is None:
                self.empty_loads += 1


class AgentProcess:
    """The agent program behind one Threadline session. ``busy`` while a turn uses it."""

    def __init__(self, config: AgentConfig, session_id: str, workspace: Path, client: ThreadlineClient) -> None:
        self.config = config
        self.session_id = session_id
        self.workspace = workspace
        self.client = client
        self.watch = Watch()
        self.proc: asyncio.subprocess.Process | None = None
        self.conn: ClientSideConnection | None = None
        self.info: InitializeResponse | None = None
        self.acp_session_id: str | None = None
        self.seen: str | None = None  # the fingerprint of the conversation the agent's session holds
        self.busy = False
        self.retired = False  # stop when the current turn ends
        self.last_used = time.monotonic()
        self.unfinished: asyncio.Task[Any] | None = None  # a cancelled turn's prompt, until answered
        self._stderr = bytearray()
        self._stderr_task: asyncio.Task[None] | None = None

    @property
    def label(self) -> str:
        return f"agent {self.config.name!r}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self, env: dict[str, str], timeout: float) -> None:
        """Spawn the program and run ``initialize``; ``ProviderError`` if it fails or takes too long."""
        problem = self.config.unavailable()
        if problem:
            raise ProviderError("connection", f"{self.label} cannot start: {problem}",
                                hint="Check the agent's command in Settings > Agents (it runs on the server).")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                self.config.command, *self.config.args, cwd=self.workspace, env=env, start_new_session=True,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                limit=DEFAULT_STDIO_BUFFER_LIMIT_BYTES,
            )
        except OSError as exc:
            raise ProviderError("connection", f"{self.label} cannot start: {exc.strerror or exc}",
                                hint="Check the agent's command in Settings > Agents.") from None
        assert self.proc.stdin is not None and self.proc.stdout is not None and self.proc.stderr is not None
        self._stderr_task = asyncio.create_task(self._drain_stderr(self.proc.stderr))
        self.conn = connect_to_agent(self.client, self.proc.stdin, self.proc.stdout, observers=[self.watch])
        capabilities = ClientCapabilities(fs=FileSystemCapabilities(read_text_file=True, write_text_file=True),
                                          terminal=True)
        info = await self.request(
            "initialize",
            self.conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=capabilities,
                                 client_info=Implementation(name="threadline", title="Threadline",
                                                            version=__version__)),
            timeout,
        )
        if info.protocol_version != PROTOCOL_VERSION:
            raise ProviderError("bad_request", f"{self.label} speaks ACP version {info.protocol_version}; "
                                f"Threadline speaks version {PROTOCOL_VERSION}",
                                hint="Install a version of the agent that supports ACP version 1.")
        self.info = info

    async def request(self, what: str, call: Any, timeout: float) -> Any:
        """Await one request to the agent, turning its failures into ``ProviderError``s that say what
        happened (an exit, a hang, an error answer)."""
        try:
            return await asyncio.wait_for(call, timeout)
        except TimeoutError:
            await self.stop()
            raise ProviderError("connection", f"{self.label} did not answer {what} within {timeout:g} s",
                                hint=self.hint("It was stopped. Check that the agent starts in a terminal; "
                                               "raise THREADLINE_ACP_REQUEST_TIMEOUT_SECONDS if it is slow.")
                                ) from None
        except RequestError as exc:
            raise self.refused(what, exc) from None
        except (ConnectionError, OSError):
            raise await self.died(what) from None

    def refused(self, what: str, exc: RequestError) -> ProviderError:
        details = f": {exc.data}" if exc.data not in (None, {}) else ""
        if exc.code == AUTH_REQUIRED:
            return ProviderError("auth", f"{self.label} needs you to log in ({exc}{details})",
                                 hint="Log the agent in once in a terminal on the server, or set its API key "
                                      "in the agent's environment in Settings > Agents.")
        return ProviderError("bad_request", f"{self.label} refused {what}: {exc}{details}",
                             hint=self.hint("See the agent's own documentation or log."))

    async def died(self, what: str) -> ProviderError:
        """The error for an agent whose connection closed: how the process ended, and its last words."""
        code = None
        if self.proc is not None:
            with contextlib.suppress(TimeoutError):
                code = await asyncio.wait_for(self.proc.wait(), 1.0)
        await self.stop()
        if code is None:
            how = "closed its connection"
        elif code < 0:
            how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        return ProviderError("stream_cut", f"{self.label} {how} during {what}",
                             hint=self.hint("Send the message again to start it anew."))

    def hint(self, advice: str) -> str:
        tail = self.stderr_tail()
        return f"{advice} Its last output: {tail}" if tail else advice

    def stderr_tail(self) -> str:
        text = self._stderr.decode("utf-8", "replace").strip()
        lines = [line for line in text.splitlines() if line.strip()][-5:]
        return " | ".join(lines)[-600:]

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        with contextlib.suppress(Exception):
            while chunk := await stream.read(65536):
                log.debug("%s: %s", self.label, chunk.decode("utf-8", "replace").rstrip())
                self._stderr += chunk
                if len(self._stderr) > STDERR_TAIL:
                    del self._stderr[: len(self._stderr) - STDERR_TAIL]

    async def stop(self) -> None:
        """Kill its terminals, close the connection and end the process group: stdin closed, then
        SIGTERM, then SIGKILL."""
        self.client.shutdown()
        if self.unfinished is not None:
            self.unfinished.cancel()
        await self.client.terminals.close()
        conn, self.conn = self.conn, None
        proc = self.proc
        running = proc is not None and proc.returncode is None
        if running and proc is not None and proc.stdin is not None:
            with contextlib.suppress(Exception):
                proc.stdin.close()
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), STOP_GRACE)
        if running and proc is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 0.2)
            # The whole group, also when the program itself is gone: its children go with it.
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, sig)
                if sig == signal.SIGTERM and proc.returncode is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(proc.wait(), STOP_GRACE)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), STOP_GRACE)
        if self._stderr_task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._stderr_task, 0.5)
