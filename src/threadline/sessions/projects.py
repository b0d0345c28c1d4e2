"""Projects: named, coloured groups of sessions."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from sqlalchemy import delete, select, update

from threadline.errors import BadRequest, NotFound
from threadline.store import tables as t
from threadline.store.engine import Store

COLOR = re.compile(r"^#[0-9a-fA-F]{3,8}$")
NAME_MAX = 100


def _public(row: Any) -> dict[str, Any]:
    return {"project_id": row["id"], "name": row["name"], "color": row["color"], "created_at": row["created_at"]}


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("name is required")
    return " ".join(value.split())[:NAME_MAX]


def _color(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not COLOR.match(value):
        raise BadRequest("color must look like #rgb or #rrggbb")
    return value.lower()


class ProjectService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def list(self) -> list[dict[str, Any]]:
        async with self.store.read() as conn:
            rows = await conn.execute(select(t.projects).order_by(t.projects.c.created_at))
            return [_public(r) for r in rows.mappings()]

    async def create(self, name: object, color: object = None, *, project_id: str | None = None) -> dict[str, Any]:
        values = {"id": project_id or uuid.uuid4().hex[:12], "name": _name(name), "color": _color(color),
                  "created_at": time.time()}
        async with self.store.write() as conn:
            await conn.execute(self.store.dialect.insert_ignore(t.projects, values))
            row = (await conn.execute(select(t.projects).where(t.projects.c.id == values["id"]))).mappings().one()
        return _public(row)

    async def rename(self, project_id: str, name: object, color: object = None) -> dict[str, Any]:
        values: dict[str, Any] = {"name": _name(name)}
        if color is not None:
            values["color"] = _color(color)
        async with self.store.write() as conn:
            result = await conn.execute(update(t.projects).where(t.projects.c.id == project_id).values(**values))
            if result.rowcount == 0:
                raise NotFound(f"project not found: {project_id}")
            row = (await conn.execute(select(t.projects).where(t.projects.c.id == project_id))).mappings().one()
        return _public(row)

    async def delete(self, project_id: str) -> None:
        """Delete the project and its memory; its sessions stay, with no project."""
        async with self.store.write() as conn:
            await conn.execute(
                update(t.sessions).where(t.sessions.c.project_id == project_id).values(project_id=None)
            )
            result = await conn.execute(delete(t.projects).where(t.projects.c.id == project_id))
            if result.rowcount == 0:
                raise NotFound(f"project not found: {project_id}")
            for table in (t.memory_documents, t.memory_revisions):
                await conn.execute(delete(table).where(table.c.project_id == project_id))
