"""Authentication: with a password set, every path but ``PUBLIC_PATHS`` and ``/static/`` needs a valid
login cookie; ``/api/*`` and non-GET requests get 401 JSON, pages a 303 to ``/login``. Every request
(auth on or off) leaves ``auth_token_id`` and ``csrf_token`` in ``request.state`` for what follows."""

from __future__ import annotations

from urllib.parse import quote

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from threadline.web.auth import COOKIE, Auth
from threadline.web.errors import error_response

PUBLIC_PATHS = frozenset({"/api/auth/login", "/api/auth/status", "/health", "/health/ready", "/login",
                          "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        auth: Auth | None = getattr(scope["app"].state, "auth", None) if "app" in scope else None
        if scope["type"] != "http" or auth is None:  # not started (no lifespan): nothing to check against
            await self.app(scope, receive, send)
            return
        await auth.refresh()
        token_id = auth.verify(cookie_parser(Headers(scope=scope).get("cookie", "")).get(COOKIE))
        state = scope.setdefault("state", {})
        state["auth_token_id"] = token_id
        state["csrf_token"] = auth.csrf_token(token_id)
        path: str = scope["path"]
        if not auth.enabled or token_id is not None or is_public(path):
            await self.app(scope, receive, send)
        elif path.startswith("/api/") or scope["method"] not in ("GET", "HEAD"):
            await error_response(401, "authentication required")(scope, receive, send)
        else:
            target = "/login" if path == "/" else f"/login?next={quote(path, safe='/')}"
            await RedirectResponse(target, status_code=303)(scope, receive, send)
