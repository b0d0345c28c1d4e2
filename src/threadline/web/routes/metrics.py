"""``GET /metrics`` for Prometheus. With ``THREADLINE_METRICS_TOKEN`` set, a scraper sends
``Authorization: Bearer <token>`` and is answered by ``MetricsMiddleware`` before authentication; a
request without it ends here with 401. Without a token the page is as private as the rest of the app
(open without a password, the login cookie with one)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from threadline.errors import Unauthorized
from threadline.web.deps import SettingsDep
from threadline.web.metrics import Metrics

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    if settings.metrics_token:
        raise Unauthorized("metrics need Authorization: Bearer <THREADLINE_METRICS_TOKEN>")
    registry: Metrics = request.app.state.metrics
    return registry.response()
