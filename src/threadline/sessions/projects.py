"""Projects: named, coloured groups of sessions, each with its ``instructions`` for the model (kept in
the ``settings`` table under ``project_instructions.<id>``, so the projects table needs no migration)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from sqlalchemy import delete, select, update

from threadline.errors import BadRequest, NotFound
from threadline.sessions.personas import check_text
from threadline.store import tables as t
from threadline.store.engine import Store

COLOR = re.compile(r"^#[0-9a-fA-F]{3,8}$")
NAME_MAX = 100
INSTRUCTIONS_MAX = 20_000
INSTRUCTIONS_KEY = "project_instructions."


def _public(row: Any, instructions: str = "") -> dict[str, Any]:
    return {"project_id": row["id"], "name": row["name"], "color": row["color"], "created_at": row["created_at"],
            "instructions": instructions}


def check_project_instructions(value: object) -> str:
    return check_text("instructions", value, INSTRUCTIONS_MAX)


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
        s = t.settings
        async with self.store.read() as conn:
            rows = await conn.execute(select(t.projects).order_by(t.projects.c.created_at))
            texts = dict((await conn.execute(
                select(s.c.key, s.c.value).where(s.c.key.startswith(INSTRUCTIONS_KEY)))).tuples().all())
            return [_public(r, _text(texts.get(INSTRUCTIONS_KEY + r["id"]))) for r in rows.mappings()]

    async def instructions(self, project_id: str) -> str:
        """The project's instructions ("" when it has none or no longer exists)."""
        s = t.settings
        async with self.store.read() as conn:
            value = (await conn.execute(select(s.c.value).where(s.c.key == INSTRUCTIONS_KEY + project_id))).scalar()
        return _text(value)

    async def create(
        self, name: object, color: object = None, *, project_id: str | None = None, instructions: object = None,
    ) -> dict[str, Any]:
        values = {"id": project_id or uuid.uuid4().hex[:12], "name": _name(name), "color": _color(color),
                  "created_at": time.time()}
        text = check_project_instructions(instructions)
        async with self.store.write() as conn:
            await conn.execute(self.store.dialect.insert_ignore(t.projects, values))
            row = (await conn.execute(select(t.projects).where(t.projects.c.id == values["id"]))).mappings().one()
            if instructions is not None:
                await self._set_instructions(conn, row["id"], text)
            else:
                text = await self._read_instructions(conn, row["id"])
        return _public(row, text)

    async def rename(
        self, project_id: str, name: object, color: object = None, *, instructions: object = None,
    ) -> dict[str, Any]:
        """Change the name, and the colour and instructions when given (``""`` clears them)."""
        values: dict[str, Any] = {"name": _name(name)}
        if color is not None:
            values["color"] = _color(color)
        text = check_project_instructions(instructions)
        async with self.store.write() as conn:
            result = await conn.execute(update(t.projects).where(t.projects.c.id == project_id).values(**values))
            if result.rowcount == 0:
                raise NotFound(f"project not found: {project_id}")
            row = (await conn.execute(select(t.projects).where(t.projects.c.id == project_id))).mappings().one()
            if instructions is not None:
                await self._set_instructions(conn, project_id, text)
            else:
                text = await self._read_instructions(conn, project_id)
        return _public(row, text)

    async def _read_instructions(self, conn: Any, project_id: str) -> str:
        s = t.settings
        return _text((await conn.execute(select(s.c.value).where(s.c.key == INSTRUCTIONS_KEY + project_id))).scalar())

    async def _set_instructions(self, conn: Any, project_id: str, text: str) -> None:
        key = INSTRUCTIONS_KEY + project_id
        if text.strip():
            await conn.execute(self.store.dialect.upsert(t.settings, {"key": key, "value": text}, "key"))
        else:
            await conn.execute(delete(t.settings).where(t.settings.c.key == key))

    async def delete(self, project_id: str) -> None:
        """Delete the project and its memory; its sessions stay, with no project."""
        async with self.store.write() as conn:
            await conn.execute(
                update(t.sessions).where(t.sessions.c.project_id == project_id).values(project_id=None)
            )
            result = await conn.execute(delete(t.projects).where(t.projects.c.id == project_id))
            if result.rowcount == 0:
                raise NotFound(f"project not found: {project_id}")
            await conn.execute(delete(t.settings).where(t.settings.c.key == INSTRUCTIONS_KEY + project_id))
            for table in (t.memory_documents, t.memory_revisions):
                await conn.execute(delete(table).where(table.c.project_id == project_id))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
