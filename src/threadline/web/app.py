"""The FastAPI application factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from threadline import __version__
from threadline.metrics import Metrics, MetricsMiddleware
from threadline.services import Services
from threadline.settings import Settings
from threadline.web import docs, pages
from threadline.web.auth import Auth
from threadline.web.errors import BodyLimitMiddleware, install_error_handlers
from threadline.web.responses import RedactedJSONResponse
from threadline.web.routes import approvals, auth, chat, files, health, metrics, projects, providers, sessions, side
from threadline.web.routes import settings as settings_routes
from threadline.web.security import SecurityMiddleware


def create_app(settings: Settings | None = None, *, env: dict[str, str] | None = None) -> FastAPI:
    """``env`` supplies the provider variables (OPENAI_API_KEY...); by default the process environment."""
    settings = settings or Settings()
    registry = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await Services.open(settings, env=env, listeners=[registry])
        await services.start()
        app.state.services = services
        registry.watch_runs(services.runs)
        app.state.auth = Auth(services.preferences, settings)
        await app.state.auth.load()
        app.state.assets = pages.StaticAssets()
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="Threadline",
        version=__version__,
        description="A self-hosted web UI for AI agents.",
        lifespan=lifespan,
        docs_url=None,  # web/docs.py serves /docs under its own CSP
        redoc_url=None,
        default_response_class=RedactedJSONResponse,
    )
    app.state.settings = settings
    app.state.metrics = registry
    install_error_handlers(app)
    for router in (
        health.router, metrics.router, sessions.router, chat.router, approvals.router, side.router, providers.router,
        projects.router, settings_routes.router, auth.router, files.router, docs.router, pages.router,
    ):
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(SecurityMiddleware, settings=settings)  # outermost: headers on every answer
    # Outside security: it counts refused requests too, and answers a scraper holding the metrics token.
    app.add_middleware(MetricsMiddleware, metrics=registry, token=settings.metrics_token)
    return app
