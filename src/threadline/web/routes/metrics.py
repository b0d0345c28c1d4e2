"""``GET /metrics`` for Prometheus. With ``THREADLINE_METRICS_TOKEN`` a scraper sends
``Authorization: Bearer <token>``; without it the page is as private as the rest of the app (open
without a password, the login cookie with one)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from threadline.errors import Unauthorized
from threadline.metrics import CONTENT_TYPE, Metrics
from threadline.web.deps import SettingsDep

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request, settings: SettingsDep) -> PlainTextResponse:
    token = settings.metrics_token
    if token:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise Unauthorized("metrics need Authorization: Bearer <THREADLINE_METRICS_TOKEN>")
    else:
        auth = getattr(request.app.state, "auth", None)
        if auth is not None and auth.enabled and getattr(request.state, "auth_token_id", None) is None:
            raise Unauthorized("authentication required")
    registry: Metrics = request.app.state.metrics
    return PlainTextResponse(registry.render(), media_type=CONTENT_TYPE)
