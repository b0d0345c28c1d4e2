"""The jail of a session's workspace, for the routers that work in it (files, uploads)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from threadline.errors import BadRequest, Forbidden, NotFound
from threadline.web.deps import ServicesDep
from threadline.workspace import Jail, check_workspace

PATH_LIMIT = 8192  # longer than the jail allows, so the jail gives the precise error


async def session_jail(services: ServicesDep, session_id: str) -> Jail:
    """404 for an unknown session; 403 if its workspace is (no longer) under the allowed roots."""
    session = await services.sessions.get(session_id, messages=False)
    workspace = session["workspace"]
    if not workspace or not await services.workspace_pool.run(Path(workspace).is_dir):
        raise NotFound("this session's workspace folder does not exist")
    try:
        check = partial(check_workspace, state_dir=services.settings.home)
        root = await services.workspace_pool.run(check, workspace, services.settings.resolved_workspace_roots)
    except BadRequest as exc:
        raise Forbidden(f"this session's workspace is not allowed: {exc.message}") from None
    return Jail(root)
