"""Login, logout and auth status (reference §2.7 "auth")."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from threadline.errors import BadRequest
from threadline.web.auth import COOKIE
from threadline.web.login import AuthDep, client_address, delete_auth_cookie, set_auth_cookie, token_id
from threadline.web.schemas import Body

router = APIRouter(prefix="/api/auth", tags=["auth"])


class Login(Body):
    password: str | None = Field(default=None, max_length=1024)


@router.get("/status")
async def status(request: Request, auth: AuthDep) -> dict[str, bool]:
    """``logged_in`` is true when the request may use the API: auth off, or a valid cookie."""
    return {"auth_enabled": auth.enabled, "logged_in": not auth.enabled or token_id(request) is not None}


@router.post("/login")
async def login(body: Login, request: Request, auth: AuthDep) -> JSONResponse:
    """Sets the session cookie. Every attempt counts toward the per-client limit before the password is
    checked: 401 for a wrong password, 429 (``retry_after``) past the limit. With no password set
    there is nothing to sign in to: 200, as Hermes WebUI answers."""
    if not auth.enabled:
        return JSONResponse({"ok": True, "message": "Auth not enabled", "auth_enabled": False, "logged_in": True})
    if body.password is None:
        raise BadRequest("password: field required")
    cookie = await auth.login(body.password, client_address(request))
    response = JSONResponse({"ok": True, "auth_enabled": True, "logged_in": True})
    set_auth_cookie(response, request, auth, cookie)
    return response


@router.post("/logout")
async def logout(request: Request, auth: AuthDep) -> JSONResponse:
    """Revokes the cookie's token on the server too, so a copy of it stops working."""
    await auth.logout(request.cookies.get(COOKIE))
    response = JSONResponse({"ok": True, "auth_enabled": auth.enabled, "logged_in": False})
    delete_auth_cookie(response, request)
    return response
