"""Liveness and readiness."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from threadline import __version__
from threadline.web.deps import JSON, ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(services: ServicesDep) -> JSON:
    """Liveness: the process answers. Counts come from memory, never a slow query."""
    return {
        "status": "ok",
        "version": __version__,
        "drafts": await services.drafts.count(),
        "active_streams": services.runs.active_count(),
        "uptime_seconds": round(time.time() - services.started_at, 3),
    }


@router.get("/health/ready", response_model=None)
async def ready(services: ServicesDep) -> JSON | JSONResponse:
    """Readiness: the database answers, and Redis when the instance is part of a cluster."""
    try:
        async with services.store.read() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        return JSONResponse({"status": "unavailable", "error": type(exc).__name__}, status_code=503)
    if services.cluster is not None:
        try:
            await services.cluster.ping()
        except Exception as exc:  # noqa: BLE001
            return JSONResponse({"status": "unavailable", "error": f"redis: {type(exc).__name__}"}, status_code=503)
    return {"status": "ready"}
