"""Is the schema current? Answered without Alembic, so a start-up on a current database never imports
it (issue 11 item 3: Alembic, Mako and Pygments are a sizeable share of a cold start).

The head revisions are read from the migration files' ``revision``/``down_revision`` assignments,
the stored ones from ``alembic_version``; only when they differ does ``Store.migrate`` load Alembic
and upgrade. A migration file this reader cannot make sense of means "not current", so Alembic, the
authority, decides.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

# ``revision = "0006"``, ``down_revision: str | None = None``, ``down_revision = ("a", "b")``: a top-level
# assignment, read as text. Not with ``ast``: on Python 3.11, parsing while another thread compiles
# (a module imported for the first time in a worker thread) can fail with "AST constructor recursion
# depth mismatch" (CPython gh-106905), and start-up must not depend on what other threads do.
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*(?:#.*)?$", re.MULTILINE)
_QUOTED = re.compile(r"""(["'])([^"'\\]*)\1""")


def _value(source: str) -> str | tuple[str, ...] | None:
    """A ``revision`` or ``down_revision`` value: None, a string, or a tuple of strings; ValueError for
    anything else (then Alembic decides)."""
    if source == "None":
        return None
    strings: list[tuple[str, str]] = _QUOTED.findall(source)
    rebuilt = ", ".join(f"{quote}{value}{quote}" for quote, value in strings)
    if len(strings) == 1 and source == rebuilt:
        return strings[0][1]
    if strings and source.strip("()[]").rstrip(", ") == rebuilt and source[0] in "([":
        return tuple(value for _quote, value in strings)
    raise ValueError(source)


def _assigned(source: str) -> dict[str, str | tuple[str, ...] | None]:
    found: dict[str, str | tuple[str, ...] | None] = {}
    for name, value in _ASSIGNMENT.findall(source):
        if name in found:
            raise ValueError(f"{name} is assigned twice")
        found[name] = _value(value)
    return found


def script_heads(versions: Path) -> frozenset[str] | None:
    """The revisions no other migration revises (Alembic's heads); None when a file is not understood."""
    revisions: set[str] = set()
    revised: set[str] = set()
    try:
        for path in versions.glob("*.py"):
            assigned = _assigned(path.read_text("utf-8"))
            revision, down = assigned["revision"], assigned["down_revision"]
            if not isinstance(revision, str):
                return None
            revisions.add(revision)
            downs = (down,) if isinstance(down, str) or down is None else down
            revised.update(d for d in downs if isinstance(d, str))
    except (OSError, ValueError, KeyError, UnicodeDecodeError):
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
