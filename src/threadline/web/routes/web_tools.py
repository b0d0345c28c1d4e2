"""The web tools' configuration (issue 14 item 7): search backend, its URL and keys (masked), and what
``web_fetch`` may reach (``agent/web/config.py``); and a trial search with what is saved."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Body as BodyParam

from threadline.agent.web.errors import WebError
from threadline.agent.web.search import search
from threadline.errors import BadRequest
from threadline.web.deps import JSON, ServicesDep

router = APIRouter(prefix="/api/web-tools", tags=["web tools"])

JsonBody = Annotated[Any, BodyParam()]
MAX_QUERY = 500


@router.get("")
async def get_web_tools(services: ServicesDep) -> JSON:
    """The configuration, keys masked, with ``search_available`` and ``search_problem``."""
    return services.web.config.public()


@router.post("")
async def save_web_tools(body: JsonBody, services: ServicesDep) -> JSON:
    """Change some fields: those left out keep their values; a key sent back masked keeps the stored
    one, ``""`` or null removes it. Bad input: 400 naming the field, and nothing changes."""
    config = await services.web.update(body)
    return {"ok": True, **config.public()}


@router.post("/test")
async def test_search(body: JsonBody, services: ServicesDep) -> JSON:
    """Search ``{query}`` (default "threadline") with the saved backend: ``{ok, results}`` or
    ``{ok: false, error}``."""
    query = body.get("query", "threadline") if isinstance(body, dict) else None
    if not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY:
        raise BadRequest(f"query must be a non-empty string of at most {MAX_QUERY} characters")
    config = services.web.config
    backend = config.backend()
    if backend is None:
        return {"ok": False, "error": config.search_problem}
    try:
        hits = await search(backend, query.strip(), 5, timeout=services.settings.web_timeout_seconds)
    except WebError as exc:
        return {"ok": False, "error": exc.message}
    return {"ok": True, "results": [{"title": h.title, "url": h.url, "snippet": h.snippet} for h in hits]}
