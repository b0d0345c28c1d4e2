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
