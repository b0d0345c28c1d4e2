"""Routers stand alone: no module in ``web/routes/`` imports another router; what two routers share
lives in a plain module under ``web/`` (``web/login.py``, ``web/deps.py``...)."""

from __future__ import annotations

import ast
from pathlib import Path

import threadline.web.routes

ROUTES = Path(threadline.web.routes.__file__).parent
PACKAGE = "threadline.web.routes"


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import auth / from .auth import x, inside web/routes/
                base = f"{PACKAGE}.{base}" if base else PACKAGE
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def test_no_router_imports_another_router() -> None:
    routers = {f"{PACKAGE}.{path.stem}" for path in ROUTES.glob("*.py") if path.stem != "__init__"}
    assert len(routers) >= 10
    offenders = {
        path.name: sorted(imported_modules(path) & routers)
        for path in ROUTES.glob("*.py")
        if imported_modules(path) & routers
    }
    assert offenders == {}


def test_no_request_goes_through_the_thread_pool_for_its_dependencies(tmp_path: Path) -> None:
    """FastAPI runs a plain ``def`` dependency or endpoint in its thread pool: a worker thread round trip
    on every request (issue 18 item 5). Every dependency of every route, and every endpoint, is async."""
    import inspect

    import fastapi.routing
    from fastapi.dependencies.models import Dependant
    from fastapi.routing import APIRoute

    from threadline.settings import Settings
    from threadline.web.app import create_app

    def calls(dependant: Dependant) -> list[object]:
        found = [dependant.call] if dependant.call is not None else []
        for child in dependant.dependencies:
            found += calls(child)
        return found

    app = create_app(Settings(home=tmp_path))
    every = list(app.routes)
    if hasattr(fastapi.routing, "iter_route_contexts"):  # newer FastAPI keeps included routers nested
        every += [context.route for context in fastapi.routing.iter_route_contexts(app.router.routes)]
    routes = [route for route in every if isinstance(route, APIRoute)]
    assert len(routes) >= 50
    sync = sorted({f"{route.path}: {getattr(call, '__qualname__', call)}"
                   for route in routes for call in calls(route.dependant)
                   if not inspect.iscoroutinefunction(call) and not inspect.isclass(call)})
    assert sync == []
