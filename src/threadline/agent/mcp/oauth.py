"""OAuth for Streamable HTTP servers that ask for it, through the SDK's ``OAuthClientProvider``.

Nobody is there to sign in while a run connects a server in the background, so the two cases differ:

- **Background** (start-up, a run, a restart): with tokens stored, the SDK's provider sends them and
  refreshes them; without, or when refreshing fails, a 401 ends the attempt and the server shows
  ``needs_auth`` ("open Settings and click Authorize"). No registration or flow is started.
- **Interactive** (``POST /api/mcp/servers/authorize``): the provider discovers the authorization
  server, registers Threadline (dynamic client registration) with the redirect URI
  ``<this server>/api/mcp/oauth/callback``, and hands over the authorization URL, which the
  Settings page opens. The authorization server sends the browser back to the callback with
  ``code`` and ``state``; ``OAuthBroker.complete`` passes them to the waiting flow (matched by
  ``state``), the provider exchanges the code, and the tokens and registration are stored with the
  server (``mcp.json``, mode 0600) for every later connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from urllib.parse import parse_qs, urlsplit

import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import ValidationError

from threadline.agent.mcp.config import CALLBACK_PATH, ServerConfig
from threadline.agent.mcp.store import McpStore
from threadline.errors import BadRequest, NotFound

CLIENT_NAME = "Threadline"


class NeedsAuthorization(Exception):
    """The server answered 401 and nobody can sign in now."""


class AuthorizationFlow:
    """One interactive authorization: the URL to open, then the code the browser brings back."""

    def __init__(self, server: str, redirect_uri: str, timeout: float) -> None:
        self.server = server
        self.redirect_uri = redirect_uri
        self.timeout = timeout
        self.url: str | None = None
        self.state: str | None = None
        self.url_ready = asyncio.Event()
        self._result: asyncio.Future[AuthorizationCodeResult] = asyncio.get_running_loop().create_future()

    def set_url(self, url: str) -> None:
        self.url = url
        states = parse_qs(urlsplit(url).query).get("state") or []
        self.state = states[0] if states else None
        self.url_ready.set()

    async def wait(self) -> AuthorizationCodeResult:
        try:
            return await asyncio.wait_for(asyncio.shield(self._result), self.timeout)
        except TimeoutError:
            raise NeedsAuthorization(f"authorization was not completed within {self.timeout:g} s") from None

    def complete(self, result: AuthorizationCodeResult) -> None:
        if not self._result.done():
            self._result.set_result(result)

    def fail(self, message: str) -> None:
        if not self._result.done():
            self._result.set_exception(NeedsAuthorization(message))

    def close(self) -> None:
        self.fail("the authorization was abandoned")
        if self._result.done():
            with contextlib.suppress(BaseException):
                self._result.exception()  # retrieved: no "never retrieved" warning


class _StoredTokens:
    """The SDK's ``TokenStorage`` over the server's record in ``mcp.json``. A registration made for
    another redirect URI is not offered, so a new one is made for this one."""

    def __init__(self, store: McpStore, server: str, redirect_uri: str | None) -> None:
        self.store = store
        self.server = server
        self.redirect_uri = redirect_uri

    def _record(self) -> dict[str, object]:
        return self.store.oauth.get(self.server, {})

    async def get_tokens(self) -> OAuthToken | None:
        try:
            data = self._record().get("tokens")
            return OAuthToken.model_validate(data) if isinstance(data, dict) else None
        except ValidationError:
            return None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        await self.store.set_oauth(self.server, {"tokens": tokens.model_dump(mode="json", exclude_none=True)})

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        try:
            data = self._record().get("client_info")
            info = OAuthClientInformationFull.model_validate(data) if isinstance(data, dict) else None
        except ValidationError:
            return None
        if info is not None and self.redirect_uri is not None:
            if self.redirect_uri not in [str(uri) for uri in info.redirect_uris or []]:
                return None
        return info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        await self.store.set_oauth(self.server, {
            "client_info": client_info.model_dump(mode="json", exclude_none=True),
            "redirect_uri": self.redirect_uri,
        })


class _RefuseUnauthorized(httpx2.Auth):
    """For a server with no stored tokens, in the background: a 401 means "needs authorization"."""

    def __init__(self, on_needed: Callable[[], None]) -> None:
        self.on_needed = on_needed

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        response = yield request
        if response.status_code == 401:
            self.on_needed()
            raise NeedsAuthorization("the server requires authorization")


class OAuthBroker:
    def __init__(self, store: McpStore) -> None:
        self.store = store
        self._flows: dict[str, AuthorizationFlow] = {}  # by OAuth state

    def new_flow(self, server: str, redirect_uri: str, timeout: float) -> AuthorizationFlow:
        for state, flow in list(self._flows.items()):
            if flow.server == server:
                flow.close()
                del self._flows[state]
        return AuthorizationFlow(server, redirect_uri, timeout)

    def has_tokens(self, server: str) -> bool:
        return isinstance(self.store.oauth.get(server, {}).get("tokens"), dict)

    async def auth_for(
        self, config: ServerConfig, flow: AuthorizationFlow | None, *, on_needed: Callable[[], None]
    ) -> httpx2.Auth | None:
        """The ``httpx2.Auth`` of one connection attempt to an HTTP server."""
        assert config.url is not None
        if flow is None and not self.has_tokens(config.name):
            return _RefuseUnauthorized(on_needed)
        stored_uri = self.store.oauth.get(config.name, {}).get("redirect_uri")
        redirect_uri = flow.redirect_uri if flow is not None else (stored_uri if isinstance(stored_uri, str) else None)
        metadata = OAuthClientMetadata(
            client_name=CLIENT_NAME,
            redirect_uris=[redirect_uri or f"http://127.0.0.1{CALLBACK_PATH}"],  # type: ignore[list-item]
        )

        async def redirect(url: str) -> None:
            if flow is None:
                on_needed()
                raise NeedsAuthorization("the stored authorization is no longer accepted")
            flow.set_url(url)
            if flow.state:
                self._flows[flow.state] = flow
            on_needed()

        async def callback() -> AuthorizationCodeResult:
            if flow is None:
                raise NeedsAuthorization("the server requires authorization")
            return await flow.wait()

        storage = _StoredTokens(self.store, config.name, redirect_uri)
        return OAuthClientProvider(config.url, metadata, storage, redirect_handler=redirect, callback_handler=callback)

    def complete(self, state: str | None, code: str | None, iss: str | None, error: str | None) -> str:
        """Hand the browser's return to the flow waiting for it; returns the server's name."""
        flow = self._flows.pop(state or "", None)
        if flow is None:
            raise NotFound("no authorization is waiting for this answer (it may have expired); start it again")
        if error:
            flow.fail(f"the authorization server refused: {error}")
            raise BadRequest(f"the authorization server refused: {error}")
        if not code:
            flow.fail("the authorization server sent no code")
            raise BadRequest("the authorization server sent no code")
        flow.complete(AuthorizationCodeResult(code=code, state=state, iss=iss))
        return flow.server

    async def forget(self, server: str) -> None:
        """Drop the stored tokens and registration (the URL changed, or the user signed out)."""
        for state, flow in list(self._flows.items()):
            if flow.server == server:
                flow.close()
                del self._flows[state]
        if server in self.store.oauth:
            await self.store.set_oauth(server, {"tokens": None, "client_info": None, "redirect_uri": None})
