"""``GET /api/commands``: the slash-command registry (``sessions/commands.py``), Hermes WebUI's path."""

from __future__ import annotations

from fastapi import APIRouter

from threadline.sessions.commands import command_list
from threadline.web.deps import JSON

router = APIRouter(prefix="/api", tags=["commands"])


@router.get("/commands")
async def commands() -> JSON:
    """``{commands: [{name, description, args, usage, aliases, busy, where}]}``, in the order the
    composer offers them."""
    return command_list()
