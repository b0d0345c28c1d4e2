"""One MCP server's client session: started on demand, watched, restarted, every call time-limited.

A ``Connection`` owns a task (``_serve``) that opens the transport and the SDK's ``Client`` in one
structured block, lists the tools, then waits until it is told to stop or the transport ends (the
process exited, the HTTP session is gone). Calls come from other tasks (the runs) through the open
client. The status is always one of::

    disabled      the server is turned off in Settings
    connecting    a session is being opened (spawn, handshake, tool listing)
    connected     ready; ``tools`` is the server's tool list
    needs_auth    the server wants OAuth authorization (``oauth.py``); ``auth_url`` when a flow waits
    broken        the last attempt failed or the session died; ``error`` says why

``ensure()`` (re)connects when needed: at once after a session that was up died, and at most every
``retry_seconds`` for a server that failed to start, so a broken server never slows every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import tempfile
import time
from typing import Any, Literal, TextIO

import anyio
import httpx2
from mcp import Client, MCPError
from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT, CallToolResult, Tool, ToolListChangedNotification

from threadline.agent.mcp.config import Limits, ServerConfig, status_view
from threadline.agent.mcp.oauth import AuthorizationFlow, NeedsAuthorization, OAuthBroker
from threadline.agent.mcp.transports import list_tools, open_transport, stderr_tail, watched

log = logging.getLogger("threadline.mcp")

Status = Literal["disabled", "connecting", "connected", "needs_auth", "broken"]
STOP_GRACE = 10.0


class CallFailed(Exception):
    """A call that produced no result from the server: ``str()`` says why, for the model."""


class Connection:
    def __init__(self, config: ServerConfig, limits: Limits, oauth: OAuthBroker) -> None:
        self.config = config
        self.limits = limits
        self.oauth = oauth
        self.status: Status = "connecting" if config.enabled else "disabled"
        self.error: str | None = None
        self.tools: list[Tool] = []
        self.server_name: str | None = None
        self.connected_at: float | None = None
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Event = asyncio.Event()
        self._stop: asyncio.Event = asyncio.Event()
        self._lost: asyncio.Event = asyncio.Event()
        self._failed_at: float | None = None
        self._start_lock = asyncio.Lock()
        self._flow: AuthorizationFlow | None = None
        self._needs_auth = False
        self._relist: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def auth_url(self) -> str | None:
        return self._flow.url if self._flow is not None and self.status == "needs_auth" else None

    def public(self) -> dict[str, Any]:
        return status_view(self.config, self.status, error=self.error, auth_url=self.auth_url,
                           tool_count=len(self.tools) if self.status == "connected" else 0,
                           server_info=self.server_name)

    # -- lifecycle ------------------------------------------------------------------------------

    def _alive(self) -> bool:
        return self._task is not None and not self._task.done() and not self._lost.is_set()

    async def ensure(self, *, wait: float | None = None, force: bool = False) -> bool:
        """Start a session unless one is up or starting; wait up to ``wait`` seconds (default: the
        connect timeout) for it. A session that died is restarted at once; a server that failed to
        start is tried again only after ``retry_seconds`` (or now, with ``force``). True when connected."""
        if not self.config.enabled:
            return False
        async with self._start_lock:
            if self._task is not None and not self._task.done() and self._lost.is_set():
                await self._halt()  # the transport ended: collect the old session, start a new one
            if self._task is None or self._task.done():
                recent = self._failed_at is not None and time.monotonic() - self._failed_at < self.limits.retry_seconds
                if recent and not force:
                    return False
                self._begin()
        if self.connected:
            return True
        timeout = self.limits.connect_timeout if wait is None else wait
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)
        return self.connected

    @property
    def connected(self) -> bool:
        return self.status == "connected"

    @property
    def failed_to_start(self) -> bool:
        """The last attempt failed (as opposed to a session that was up and died)."""
        return self._failed_at is not None

    def start_background(self) -> None:
        """Begin connecting without waiting (start-up, after an edit)."""
        if self.config.enabled and not self._alive():
            self._begin()

    def _begin(self) -> None:
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._lost = asyncio.Event()
        self.status = "connecting"
        self._task = asyncio.create_task(self._serve(self._flow), name=f"mcp-{self.name}")

    async def authorize(self, redirect_uri: str) -> AuthorizationFlow:
        """Restart the session with an interactive OAuth flow whose redirect comes back to
        ``redirect_uri``; returns once the flow has an authorization URL or the session is up."""
        if not self.config.enabled:
            raise NeedsAuthorization("the server is disabled; enable it first")
        async with self._start_lock:
            await self._halt()
            self._flow = self.oauth.new_flow(self.name, redirect_uri, self.limits.auth_timeout)
            self._begin()
        flow = self._flow
        waiters = {asyncio.create_task(flow.url_ready.wait()), asyncio.create_task(self._ready.wait())}
        try:
            await asyncio.wait(waiters, timeout=self.limits.connect_timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return flow

    async def restart(self) -> None:
        async with self._start_lock:
            await self._halt()
            self._failed_at = None
            if self.config.enabled:
                self._begin()

    async def close(self) -> None:
        async with self._start_lock:
            await self._halt()
            self.status = "disabled" if not self.config.enabled else self.status

    async def _halt(self) -> None:
        task, self._task = self._task, None
        if self._relist is not None:
            self._relist.cancel()
        if task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        except Exception:  # noqa: S110 - _serve reports its own failures
            pass

    # -- the session task -----------------------------------------------------------------------

    async def _serve(self, flow: AuthorizationFlow | None) -> None:
        stderr: TextIO | None = None
        self._needs_auth = False
        died = False
        budget = self.limits.auth_timeout if flow is not None else self.limits.connect_timeout
        try:
            stderr = await asyncio.to_thread(tempfile.TemporaryFile, "w+", encoding="utf-8", errors="replace")
            # One cancel scope around the whole session (the SDK's task groups must close inside
            # it): a deadline while connecting, none once connected.
            with anyio.CancelScope() as scope:
                scope.deadline = anyio.current_time() + budget
                async with contextlib.AsyncExitStack() as stack:
                    auth = None
                    if self.config.url is not None:
                        auth = await self.oauth.auth_for(self.config, flow, on_needed=self._mark_needs_auth)
                    transport = await open_transport(self.config, self.limits, stack, stderr, auth)
                    client = Client(watched(transport, self._lost), message_handler=self._on_message,
                                    read_timeout_seconds=self.limits.call_timeout)
                    await stack.enter_async_context(client)
                    tools = await list_tools(client)
                    scope.deadline = math.inf
                    self._connected(client, tools)
                    await _first(self._stop.wait(), self._lost.wait())
                    self._client = None
                    if self._lost.is_set() and not self._stop.is_set():
                        died = True
                        self._failed("the server closed the connection", await stderr_tail(stderr), died=True)
            if scope.cancelled_caught:
                raise TimeoutError(f"no answer within {budget:g} s")
        except asyncio.CancelledError:
            self._failed("stopped", None)
            raise
        except BaseException as exc:  # noqa: BLE001 - any failure of a server is its status, never ours
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            if not died:  # a session that died is reported as such, whatever its teardown raised
                reason = _describe(exc)
                if self.config.command is not None and _contains(exc, FileNotFoundError):
                    reason = f"command not found: {self.config.command}"
                self._failed(reason, await stderr_tail(stderr) if stderr else None,
                             auth=self._needs_auth or _contains(exc, NeedsAuthorization))
        finally:
            self._client = None
            self._ready.set()
            if flow is not None and self._flow is flow:
                flow.close()
                self._flow = None
            if stderr is not None:
                stderr.close()

    def _mark_needs_auth(self) -> None:
        self._needs_auth = True
        if self._flow is not None and self._flow.url:
            self.status = "needs_auth"
            self.error = "waiting for you to authorize this server in the page that opened"

    def _connected(self, client: Client, tools: list[Tool]) -> None:
        self._client = client
        self.tools = tools
        info = client.server_info
        self.server_name = info.name if info is not None else None
        self.status = "connected"
        self.error = None
        self._failed_at = None
        self.connected_at = time.time()
        self._flow = None
        self._ready.set()
        log.info("mcp server %s: connected, %d tools", self.name, len(tools))

    def _failed(self, reason: str, stderr: str | None, *, died: bool = False, auth: bool = False) -> None:
        if self._stop.is_set() and not died:
            self.status = "disabled" if not self.config.enabled else "connecting"
            return
        detail = f"{reason}\n{stderr}" if stderr else reason
        self.tools = []
        self.status = "needs_auth" if auth else "broken"
        self.error = (
            "this server requires authorization: open Settings > MCP servers and click Authorize"
            if auth and self.auth_url is None else detail.strip()
        )
        self._failed_at = None if died else time.monotonic()
        log.warning("mcp server %s: %s", self.name, reason)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, ToolListChangedNotification) and self._client is not None:
            if self._relist is None or self._relist.done():
                self._relist = asyncio.create_task(self._refresh_tools())
        elif isinstance(message, Exception):
            log.info("mcp server %s: transport error: %s", self.name, _describe(message))

    async def _refresh_tools(self) -> None:
        client = self._client
        if client is None:
            return
        try:
            self.tools = await asyncio.wait_for(list_tools(client), self.limits.connect_timeout)
        except (MCPError, TimeoutError, OSError, httpx2.HTTPError) as exc:
            log.warning("mcp server %s: listing tools failed: %s", self.name, _describe(exc))

    # -- calls ----------------------------------------------------------------------------------

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        """Call ``tool``, reconnecting first if the session died. Raises ``CallFailed``."""
        if not await self.ensure() or self._client is None:
            reason = f": {self.error}" if self.error else ""
            raise CallFailed(f"the MCP server {self.name!r} is not available ({self.status}){reason}")
        client = self._client
        timeout = self.limits.call_timeout
        try:
            async with asyncio.timeout(timeout + 5):
                return await client.call_tool(tool, arguments, read_timeout_seconds=timeout)
        except TimeoutError:
            raise CallFailed(f"no answer from the MCP server {self.name!r} within {timeout:g} s") from None
        except MCPError as exc:
            if exc.error.code == REQUEST_TIMEOUT:
                raise CallFailed(f"no answer from the MCP server {self.name!r} within {timeout:g} s") from None
            if exc.error.code == CONNECTION_CLOSED:
                self._lost.set()
                raise CallFailed(
                    f"the connection to the MCP server {self.name!r} was lost during the call (it will be "
                    "restarted); the call may or may not have taken effect"
                ) from None
            raise CallFailed(f"the MCP server {self.name!r} refused the call: {exc.error.message}") from None
        except (OSError, httpx2.HTTPError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            self._lost.set()
            raise CallFailed(f"the connection to the MCP server {self.name!r} failed: {_describe(exc)}") from None


# -- helpers ------------------------------------------------------------------------------------


async def _first(*waits: Any) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _contains(exc: BaseException, kind: type[BaseException]) -> bool:
    if isinstance(exc, kind):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_contains(e, kind) for e in exc.exceptions)
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and isinstance(cause, kind)


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions[:3])
    if isinstance(exc, MCPError):
        return f"MCP error {exc.error.code}: {exc.error.message}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
