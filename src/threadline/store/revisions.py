"""Is the schema current? Answered without Alembic, so a start-up on a current database never imports
it (issue 11 item 3: Alembic, Mako and Pygments are a sizeable share of a cold start).

The head revisions are read from the migration files' ``revision``/``down_revision`` assignments,
the stored ones from ``alembic_version``; only when they differ does ``Store.migrate`` load Alembic
and upgrade. A migration file this reader cannot make sense of means "not current", so Alembic, the
authority, decides.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine


def _assigned(module: ast.Module, name: str) -> object:
    for node in module.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(value)
    raise LookupError(name)


def script_heads(versions: Path) -> frozenset[str] | None:
    """The revisions no other migration revises (Alembic's heads); None when a file is not understood."""
    revisions: set[str] = set()
    revised: set[str] = set()
    try:
        for path in versions.glob("*.py"):
            module = ast.parse(path.read_text("utf-8"))
            revision = _assigned(module, "revision")
            down = _assigned(module, "down_revision")
            if not isinstance(revision, str):
                return None
            revisions.add(revision)
            downs = (down,) if isinstance(down, str) or down is None else down
            if not isinstance(downs, tuple | list):
                return None
            revised.update(d for d in downs if isinstance(d, str))
    except (OSError, SyntaxError, ValueError, LookupError):
        return None
    heads = frozenset(revisions - revised)
    return heads or None


async def stored_revisions(engine: AsyncEngine) -> frozenset[str]:
    """The revisions recorded in the database; empty when it has none (a new database)."""
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return frozenset(str(row[0]) for row in rows)
    except DBAPIError:  # no alembic_version table yet
        return frozenset()


async def schema_is_current(engine: AsyncEngine, versions: Path) -> bool:
    heads = script_heads(versions)
    return heads is not None and await stored_revisions(engine) == heads
