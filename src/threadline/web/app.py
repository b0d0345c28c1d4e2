"""The FastAPI application factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from threadline import __version__
from threadline.services import Services
from threadline.settings import Settings
from threadline.web import pages
from threadline.web.errors import BodyLimitMiddleware, install_error_handlers
from threadline.web.routes import chat, health, projects, providers, sessions


def create_app(settings: Settings | None = None, *, env: dict[str, str] | None = None) -> FastAPI:
    """``env`` supplies the provider variables (OPENAI_API_KEY...); by default the process environment."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await Services.open(settings, env=env)
        await services.start()
        app.state.services = services
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
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in (
        health.router, sessions.router, chat.router, providers.router, projects.router, projects.settings_router,
        pages.router,
    ):
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    return app
