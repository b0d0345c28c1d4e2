"""``GET /metrics`` for Prometheus. With ``THREADLINE_METRICS_TOKEN`` set, a scraper sends
``Authorization: Bearer <token>`` and is answered by ``MetricsMiddleware`` before authentication; a
request without it ends here with 401. Without a token the page is as private as the rest of the app
(open without a password, the login cookie with one)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from threadline.errors import Unauthorized
from threadline.metrics import CONTENT_TYPE, Metrics
from threadline.web.deps import SettingsDep

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request, settings: SettingsDep) -> PlainTextResponse:
    if settings.metrics_token:
        raise Unauthorized("metrics need Authorization: Bearer <THREADLINE_METRICS_TOKEN>")
    registry: Metrics = request.app.state.metrics
    return PlainTextResponse(registry.render(), media_type=CONTENT_TYPE)
