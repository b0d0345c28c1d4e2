"""The DNS-rebinding guard: with auth off and a loopback bind, the ``Host`` must be a loopback name or
one of ``allowed_origins``; a page on another name that resolves to 127.0.0.1 gets 403."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from threadline.settings import Settings
from threadline.web.auth import Auth
from threadline.web.errors import error_response
from threadline.web.middleware.origins import allowed_origins, host_key
from threadline.web.security_check import is_loopback

REFUSED = ("this server answers only to localhost without a password (DNS-rebinding protection); "
           "add the name to THREADLINE_ALLOWED_ORIGINS or set a password")


class HostCheckMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.allowed_hosts = {host for host, _port in allowed_origins(settings.allowed_origins)}
        self.loopback_bind = is_loopback(settings.host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.loopback_bind and not self._host_allowed(scope):
            await error_response(403, REFUSED)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _host_allowed(self, scope: Scope) -> bool:
        auth: Auth | None = getattr(scope["app"].state, "auth", None) if "app" in scope else None
        host = Headers(scope=scope).get("host")
        if auth is None or auth.enabled or host is None:  # not started, a password, or HTTP/1.0
            return True
        key = host_key(host)
        return key is not None and (is_loopback(key[0]) or key[0].endswith(".localhost")
                                    or key[0] in self.allowed_hosts)
