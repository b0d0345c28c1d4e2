"""CSRF: unsafe methods (and the compatibility ``GET /api/chat/cancel``) need a same-origin
``Origin``/``Referer`` (or one in ``allowed_origins``) and ``Sec-Fetch-Site`` same-origin or none when
sent; a browser request (one with ``Origin`` or ``Sec-Fetch-Site``) also needs ``X-CSRF-Token``, the
value pages carry in ``<body data-csrf>`` (left in ``request.state`` by the authentication middleware).
Scripts that send neither header pass, which is safe: a browser always sends one of them on a
cross-site unsafe request."""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from threadline.settings import Settings
from threadline.web.errors import error_response
from threadline.web.middleware.origins import DEFAULT_PORTS, allowed_origins, host_key, origin_key

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATE_CHANGING_GETS = frozenset({"/api/chat/cancel"})
SAFE_FETCH_SITES = frozenset({"same-origin", "none"})


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.allowed = allowed_origins(settings.allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        expected = scope.get("state", {}).get("csrf_token")
        if (scope["type"] == "http" and expected is not None
                and (scope["method"] in UNSAFE_METHODS or scope["path"] in STATE_CHANGING_GETS)):
            problem = self.check(Headers(scope=scope), expected, scope.get("scheme", "http"))
            if problem:
                await error_response(403, problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def check(self, headers: Headers, expected: str, scheme: str) -> str | None:
        """``scheme`` and X-Forwarded-Proto give the port a ``Host`` without one stands for."""
        schemes = {scheme, headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()}
        origin = headers.get("origin")
        source = origin if origin is not None else headers.get("referer")
        fetch_site = headers.get("sec-fetch-site")
        explicitly_allowed = False
        if source is not None:
            key = origin_key(source)
            if key is None:
                return "cross-origin request refused (unreadable Origin)"
            explicitly_allowed = key in self.allowed
            if not explicitly_allowed and not same_origin(key, headers.get("host", ""), schemes):
                return "cross-origin request refused"
        if fetch_site is not None and fetch_site not in SAFE_FETCH_SITES and not explicitly_allowed:
            return f"cross-site request refused (Sec-Fetch-Site: {fetch_site})"
        if origin is not None or fetch_site is not None:
            token = headers.get("x-csrf-token", "")
            if not hmac.compare_digest(token.encode(), expected.encode()):
                return "missing or invalid CSRF token (send the page's data-csrf value as X-CSRF-Token)"
        return None


def same_origin(origin: tuple[str, int], host_header: str, schemes: set[str]) -> bool:
    host = host_key(host_header)
    if host is None or host[0] != origin[0]:
        return False
    if host[1] is None:
        return any(origin[1] == DEFAULT_PORTS.get(scheme) for scheme in schemes)
    return origin[1] == host[1]
