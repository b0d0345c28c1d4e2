"""The HTTP side of signing in, shared by the routers that need it: the ``Auth`` dependency, the
login behind a request, the cookie, the client address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from threadline.web.auth import COOKIE, Auth


async def get_auth(request: Request) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


AuthDep = Annotated[Auth, Depends(get_auth)]


def token_id(request: Request) -> str | None:
    """The login behind this request's cookie (checked by the authentication middleware)."""
    value: str | None = getattr(request.state, "auth_token_id", None)
    return value


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_auth_cookie(response: Response, request: Request, auth: Auth, value: str) -> None:
    response.set_cookie(
        COOKIE, value, max_age=auth.settings.auth_cookie_ttl_seconds, path="/", httponly=True, samesite="lax",
        secure=is_https(request),
    )


def delete_auth_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))


def client_address(request: Request) -> str:
    """The peer address; X-Forwarded-For is not trusted (anyone could rotate it to dodge the limit)."""
    return request.client.host if request.client else "unknown"
