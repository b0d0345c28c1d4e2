"""Preferences (``/api/settings``, reference §2.7) and the password: ``_set_password`` /
``_clear_password`` in the same POST turn authentication on or off."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Body as BodyParam
from fastapi.responses import JSONResponse

from threadline import __version__
from threadline.errors import BadRequest
from threadline.preferences import check_preferences
from threadline.web.auth import Auth
from threadline.web.deps import JSON, PreferencesDep
from threadline.web.login import AuthDep, client_address, set_auth_cookie, token_id
from threadline.web.schemas import JSONObject

router = APIRouter(prefix="/api", tags=["settings"])

PASSWORD_KEYS = ("_set_password", "_clear_password", "_current_password", "_auth_disabled_acknowledged")
READ_ONLY = frozenset({"auth_enabled", "logged_in", "auth_just_enabled", "password_source", "password_env_var",
                       "password_auth_enabled", "passkeys_enabled", "passwordless_enabled", "webui_version",
                       "agent_version", "persisted_speech_keys"})
"""What ``GET /api/settings`` adds to the preferences: a client that sends them back is not refused
(they are ignored)."""


def _auth_fields(auth: Auth, request: Request) -> dict[str, Any]:
    """Hermes WebUI's fields beside the preferences (no passkeys here: always false)."""
    return {"auth_enabled": auth.enabled, "logged_in": not auth.enabled or token_id(request) is not None,
            "password_source": auth.password_source, "password_env_var": auth.password_source == "env",
            "password_auth_enabled": auth.enabled, "passkeys_enabled": False, "passwordless_enabled": False,
            "webui_version": __version__, "agent_version": __version__}


@router.get("/settings")
async def get_settings(request: Request, preferences: PreferencesDep, auth: AuthDep) -> JSON:
    """The preferences (Hermes WebUI's keys among them) plus ``auth_enabled``, ``logged_in``,
    ``password_source`` (env, settings or null), ``password_env_var``, ``webui_version``...; never a hash."""
    return await preferences.get_all() | _auth_fields(auth, request)


@router.post("/settings", response_model=None)
async def update_settings(
    request: Request, preferences: PreferencesDep, auth: AuthDep,
    body: Annotated[JSONObject, BodyParam()],
) -> JSONResponse:
    """Unknown keys or bad values are refused and nothing changes. ``_set_password`` (8+ characters)
    turns auth on and the response sets the login cookie, so whoever set it stays signed in;
    ``_clear_password: true`` turns it off. Changing the password ends every other login. With
    ``_current_password`` (Hermes WebUI sends it), a wrong one is 403 and nothing changes."""
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    new_password = body.get("_set_password")
    clear = body.get("_clear_password", False)
    if not isinstance(clear, bool):
        raise BadRequest("_clear_password must be true or false")
    if new_password is not None and clear:
        raise BadRequest("send either _set_password or _clear_password, not both")
    changes = {k: v for k, v in body.items() if k not in PASSWORD_KEYS and k not in READ_ONLY}
    if "_auth_disabled_acknowledged" in body:
        changes["auth_disabled_acknowledged"] = body["_auth_disabled_acknowledged"]
    check_preferences(changes)  # before anything is written, the password included
    if "_current_password" in body and (new_password is not None or clear):
        await auth.check_current_password(body["_current_password"], client_address(request))
    was_enabled = auth.enabled
    cookie = None
    if new_password is not None:
        await auth.set_password(new_password)
        cookie = auth.issue()
    elif clear:
        await auth.clear_password()
    if changes:
        await preferences.update(changes)
    values = await preferences.get_all() | _auth_fields(auth, request)
    values["auth_just_enabled"] = auth.enabled and not was_enabled
    values["logged_in"] = not auth.enabled or cookie is not None or token_id(request) is not None
    response = JSONResponse(values, headers={"Cache-Control": "no-store"})
    if cookie:
        set_auth_cookie(response, request, auth, cookie)
    return response
