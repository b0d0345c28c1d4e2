"""The security middleware (pure ASGI, so streamed responses pass through unbuffered). Per request:

1. Security headers on every response (CSP without ``unsafe-inline``, nosniff, frame denial...). A
   route that sets its own ``Content-Security-Policy`` keeps it (``/docs``, raw workspace files).
2. DNS-rebinding guard: with auth off and a loopback bind, the ``Host`` must be a loopback name or
   one of ``allowed_origins``; a page on another name resolving to 127.0.0.1 gets 403.
3. Authentication: with a password set, every path but ``PUBLIC_PATHS`` and ``/static/`` needs a
   valid cookie; ``/api/*`` and non-GET requests get 401 JSON, pages a 303 to ``/login``.
4. CSRF: unsafe methods (and the compatibility ``GET /api/chat/cancel``) need a same-origin
   ``Origin``/``Referer`` (or one in ``allowed_origins``) and ``Sec-Fetch-Site`` same-origin or none
   when sent; a browser request (one with ``Origin`` or ``Sec-Fetch-Site``) also needs
   ``X-CSRF-Token``, the value pages carry in ``<body data-csrf>``. Scripts that send neither header
   pass, which is safe: a browser always sends one of them on a cross-site unsafe request.
"""

from __future__ import annotations

import hmac
from urllib.parse import quote, urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.settings import Settings
from threadline.web.auth import COOKIE, Auth
from threadline.web.errors import error_response
from threadline.web.security_check import is_loopback

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
PUBLIC_PATHS = frozenset({"/api/auth/login", "/api/auth/status", "/health", "/health/ready", "/login",
                          "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATE_CHANGING_GETS = frozenset({"/api/chat/cancel"})
SAFE_FETCH_SITES = frozenset({"same-origin", "none"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _origin_key(value: str) -> tuple[str, int] | None:
    """``scheme://host[:port]`` (or a full URL) to (host, port), the port defaulted by scheme."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def _host_key(host: str) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit("//" + host.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.allowed = {key for o in settings.allowed_origins if (key := _origin_key(o))}
        self.allowed_hosts = {host for host, _port in self.allowed}
        self.loopback_bind = is_loopback(settings.host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(send)
        auth: Auth | None = getattr(scope["app"].state, "auth", None) if "app" in scope else None
        if auth is None:  # the app is not started (no lifespan): nothing to check against
            await self.app(scope, receive, send)
            return
        await auth.refresh()
        headers = Headers(scope=scope)
        token_id = auth.verify(cookie_parser(headers.get("cookie", "")).get(COOKIE))
        state = scope.setdefault("state", {})
        state["auth_token_id"] = token_id
        state["csrf_token"] = auth.csrf_token(token_id)
        path: str = scope["path"]
        method: str = scope["method"]

        problem = self._check_host(headers, auth)
        if problem:
            await error_response(403, problem)(scope, receive, send)
            return
        if auth.enabled and token_id is None and not is_public(path):
            if path.startswith("/api/") or method not in ("GET", "HEAD"):
                await error_response(401, "authentication required")(scope, receive, send)
            else:
                target = "/login" if path == "/" else f"/login?next={quote(path, safe='/')}"
                await RedirectResponse(target, status_code=303)(scope, receive, send)
            return
        if method in UNSAFE_METHODS or path in STATE_CHANGING_GETS:
            problem = self._check_csrf(headers, state["csrf_token"], scope.get("scheme", "http"))
            if problem:
                await error_response(403, problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _check_host(self, headers: Headers, auth: Auth) -> str | None:
        if auth.enabled or not self.loopback_bind or "host" not in headers:
            return None
        key = _host_key(headers["host"])
        if key and (is_loopback(key[0]) or key[0].endswith(".localhost") or key[0] in self.allowed_hosts):
            return None
        return ("this server answers only to localhost without a password (DNS-rebinding protection); "
                "add the name to THREADLINE_ALLOWED_ORIGINS or set a password")

    def _check_csrf(self, headers: Headers, expected: str, scheme: str) -> str | None:
        """``scheme`` and X-Forwarded-Proto give the port a ``Host`` without one stands for."""
        schemes = {scheme, headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()}
        origin = headers.get("origin")
        source = origin if origin is not None else headers.get("referer")
        fetch_site = headers.get("sec-fetch-site")
        explicitly_allowed = False
        if source is not None:
            key = _origin_key(source)
            if key is None:
                return "cross-origin request refused (unreadable Origin)"
            explicitly_allowed = key in self.allowed
            if not explicitly_allowed and not self._same_origin(key, headers.get("host", ""), schemes):
                return "cross-origin request refused"
        if fetch_site is not None and fetch_site not in SAFE_FETCH_SITES and not explicitly_allowed:
            return f"cross-site request refused (Sec-Fetch-Site: {fetch_site})"
        if origin is not None or fetch_site is not None:
            token = headers.get("x-csrf-token", "")
            if not hmac.compare_digest(token.encode(), expected.encode()):
                return "missing or invalid CSRF token (send the page's data-csrf value as X-CSRF-Token)"
        return None

    @staticmethod
    def _same_origin(origin: tuple[str, int], host_header: str, schemes: set[str]) -> bool:
        host = _host_key(host_header)
        if host is None:
            return False
        name, port = host
        if name != origin[0]:
            return False
        if port is None:
            return any(origin[1] == DEFAULT_PORTS.get(scheme) for scheme in schemes)
        return origin[1] == port

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = CSP
                for name, value in SECURITY_HEADERS.items():
                    if name.lower() not in headers:
                        headers[name] = value
            await send(message)

        return wrapped
