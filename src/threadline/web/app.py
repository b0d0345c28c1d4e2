"""The FastAPI application factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from threadline import __version__
from threadline.services import Services
from threadline.settings import Settings
from threadline.web import docs, pages
from threadline.web.auth import Auth
from threadline.web.errors import BodyLimitMiddleware, install_error_handlers
from threadline.web.metrics import Metrics, MetricsMiddleware
from threadline.web.middleware.authentication import AuthenticationMiddleware
from threadline.web.middleware.csrf import CSRFMiddleware
from threadline.web.middleware.headers import SecurityHeadersMiddleware
from threadline.web.middleware.hosts import HostCheckMiddleware
from threadline.web.responses import RedactedJSONResponse
from threadline.web.routes import (
    approvals,
    auth,
    chat,
    clarify,
    commands,
    crons,
    files,
    health,
    mcp,
    memory,
    metrics,
    notices,
    onboarding,
    personas,
    projects,
    providers,
    runtimes,
    session_events,
    session_state,
    sessions,
    side,
    skills,
    uploads,
    web_tools,
    workspaces,
)
from threadline.web.routes import settings as settings_routes

COMPRESS_MIN_BYTES = 1024
# Measured on 1 MB of session JSON (docs and code as message text), on a loaded 2-core machine: level 1
# takes 11 ms for 327 KB; 2: 11 ms, 308 KB; 3: 17 ms, 296 KB; 5: 38 ms, 269 KB; 6: 54 ms, 265 KB. Level 2
# keeps opening a long session cheap (issue 11) for 15% more bytes than level 5 (Hermes WebUI sends
# 373 KB for such a session). Bodies over 128 KB are compressed in a worker thread (Starlette).
COMPRESS_LEVEL = 2
# Never compressed again: Starlette's list (event streams, images, zip, gzip...) and the other archives
# a workspace download may be (.tar.gz is served as application/x-tar, .gz as application/octet-stream).
ALREADY_COMPRESSED = (
    "application/octet-stream", "application/x-tar", "application/x-bzip2", "application/x-xz",
    "application/zstd", "application/x-7z-compressed", "application/vnd.rar", "application/pdf",
)


def create_app(
    settings: Settings | None = None, *, env: dict[str, str] | None = None,
    on_started: Callable[[], None] | None = None,
) -> FastAPI:
    """``env`` supplies the provider variables (OPENAI_API_KEY...); by default the process environment.
    ``on_started`` runs once start-up is done (``threadline serve`` tunes the garbage collector there)."""
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
        if on_started is not None:
            on_started()
        try:
            yield
        finally:
            await app.state.auth.close()
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
        health.router, metrics.router, sessions.router, chat.router, approvals.router, clarify.router, side.router,
        providers.router, mcp.router, runtimes.router, projects.router, settings_routes.router, auth.router,
        files.router, uploads.router, workspaces.router, memory.router, skills.router, crons.router,
        notices.router, web_tools.router, docs.router, personas.router, session_events.router,
        session_state.router, commands.router, onboarding.router, pages.router,
    ):
        app.include_router(router)
    # Innermost first; the order is explained in web/middleware/__init__.py.
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(CSRFMiddleware, settings=settings)
    app.add_middleware(AuthenticationMiddleware)
    app.add_middleware(HostCheckMiddleware, settings=settings)
    app.add_middleware(GZipMiddleware, minimum_size=COMPRESS_MIN_BYTES, compresslevel=COMPRESS_LEVEL,
                       exclude_content_types=DEFAULT_EXCLUDED_CONTENT_TYPES + ALREADY_COMPRESSED)
    app.add_middleware(SecurityHeadersMiddleware)
    # Outside the rest: it counts refused requests too, and answers a scraper holding the metrics token.
    app.add_middleware(MetricsMiddleware, metrics=registry, token=settings.metrics_token)
    return app
