"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from threadline import __version__
from threadline.web.deps import JSON, ServicesDep

router = APIRouter(tags=["health"])
READY_WRITE_SECONDS = 5.0


@router.get("/health")
async def health(services: ServicesDep) -> JSON:
    """Liveness: the process answers. Counts come from memory, never a slow query."""
    return {
        "status": "ok",
        "version": __version__,
        "drafts": await services.drafts.recent_count(),
        "active_streams": services.runs.active_count(),
        "uptime_seconds": round(time.time() - services.started_at, 3),
    }


@router.get("/health/ready", response_model=None)
async def ready(services: ServicesDep) -> JSON | JSONResponse:
    """Readiness: the database takes a write (a heartbeat row) within a few seconds and writes are not
    failing or stuck, and Redis answers when the instance is part of a cluster."""
    try:
        await asyncio.wait_for(services.store.probe_write(services.instance_id), READY_WRITE_SECONDS)
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        detail = f"no write within {READY_WRITE_SECONDS:g} s" if isinstance(exc, TimeoutError) \
            else f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        reason = f"writes cannot proceed: {detail}"
        return JSONResponse({"status": "unavailable", "error": reason}, status_code=503)
    problem = services.store.health.problem()
    if problem is not None:
        return JSONResponse({"status": "unavailable", "error": problem}, status_code=503)
    if services.cluster is not None:
        try:
            await services.cluster.ping()
        except Exception as exc:  # noqa: BLE001
            return JSONResponse({"status": "unavailable", "error": f"redis: {type(exc).__name__}"}, status_code=503)
    return {"status": "ready"}
