"""Login, logout and auth status (reference §2.7 "auth")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from threadline.web.auth import COOKIE, Auth
from threadline.web.schemas import Body

router = APIRouter(prefix="/api/auth", tags=["auth"])


def get_auth(request: Request) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


AuthDep = Annotated[Auth, Depends(get_auth)]


class Login(Body):
    password: str = Field(max_length=1024)


def token_id(request: Request) -> str | None:
    """The login behind this request's cookie (checked by the security middleware)."""
    value: str | None = getattr(request.state, "auth_token_id", None)
    return value


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_auth_cookie(response: JSONResponse, request: Request, auth: Auth, value: str) -> None:
    response.set_cookie(
        COOKIE, value, max_age=auth.settings.auth_cookie_ttl_seconds, path="/", httponly=True, samesite="lax",
        secure=is_https(request),
    )


def client_address(request: Request) -> str:
    """The peer address; X-Forwarded-For is not trusted (anyone could rotate it to dodge the limit)."""
    return request.client.host if request.client else "unknown"


@router.get("/status")
async def status(request: Request, auth: AuthDep) -> dict[str, bool]:
    """``logged_in`` is true when the request may use the API: auth off, or a valid cookie."""
    return {"auth_enabled": auth.enabled, "logged_in": not auth.enabled or token_id(request) is not None}


@router.post("/login")
async def login(body: Login, request: Request, auth: AuthDep) -> JSONResponse:
    """Sets the session cookie. 401 for a wrong password; 429 (``Retry-After``) after too many failures."""
    cookie = await auth.login(body.password, client_address(request))
    response = JSONResponse({"ok": True, "auth_enabled": True, "logged_in": True},
                            headers={"Cache-Control": "no-store"})
    set_auth_cookie(response, request, auth, cookie)
    return response


@router.post("/logout")
async def logout(request: Request, auth: AuthDep) -> JSONResponse:
    """Revokes the cookie's token on the server too, so a copy of it stops working."""
    await auth.logout(request.cookies.get(COOKIE))
    response = JSONResponse({"ok": True, "auth_enabled": auth.enabled, "logged_in": False})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))
    return response
