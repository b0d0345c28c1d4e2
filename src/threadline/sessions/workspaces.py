"""Saved workspaces (reference §2.5): the user's list of folders, each ``{path, name}``, and the last
workspace used, kept in the ``settings`` table under ``workspaces`` and ``last_workspace``.

Every saved path is checked when it is added (``roots.check_saved``: an existing folder under the
allowed roots, never a system folder, the home folder itself or the state directory) and stored
resolved, so a symlink saved today cannot point somewhere else tomorrow. Being in the list grants
nothing by itself: a session's workspace is checked against the allowed roots whenever it is used.
Path checks touch the disk, so they run on the workspace pool.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select

from threadline.errors import BadRequest, NotFound
from threadline.settings import Settings
from threadline.store import tables as t
from threadline.store.engine import Store
from threadline.workspace import pool
from threadline.workspace.roots import check_saved, check_workspace, suggest

LIST_KEY = "workspaces"
LAST_KEY = "last_workspace"
MAX_SAVED = 200
NAME_MAX = 200


def clean_name(name: object, path: Path | str) -> str:
    if name is None or name == "":
        return Path(path).name or str(path)
    if not isinstance(name, str):
        raise BadRequest("name must be a string")
    cleaned = " ".join(name.split())
    if not cleaned:
        return Path(path).name or str(path)
    if len(cleaned) > NAME_MAX:
        raise BadRequest(f"name must be at most {NAME_MAX} characters")
    return cleaned


def _entries(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        return []
    return [{"path": str(w["path"]), "name": str(w.get("name") or Path(str(w["path"])).name)}
            for w in value if isinstance(w, dict) and isinstance(w.get("path"), str)]


class SavedWorkspaces:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    async def _read(self, key: str) -> Any:
        async with self.store.read() as conn:
            row = (await conn.execute(select(t.settings.c.value).where(t.settings.c.key == key))).first()
        return row[0] if row else None

    async def _write(self, key: str, value: Any) -> None:
        async with self.store.write() as conn:
            await conn.execute(self.store.dialect.upsert(t.settings, {"key": key, "value": value}, "key"))

    async def saved(self) -> list[dict[str, str]]:
        return _entries(await self._read(LIST_KEY))

    async def last(self) -> str | None:
        value = await self._read(LAST_KEY)
        return value if isinstance(value, str) and value else None

    async def public(self) -> dict[str, Any]:
        """``{workspaces: [{path, name}], last}``; ``last`` is the default workspace until one is used."""
        return {"workspaces": await self.saved(),
                "last": await self.last() or str(self.settings.resolved_default_workspace)}

    async def _change(self, change: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> dict[str, Any]:
        """Read, change and write the list in one write transaction (two changes never lose one);
        ``change`` raises to change nothing."""
        async with self.store.write() as conn:
            entries = change(_entries(await self.store.locked_setting(conn, LIST_KEY, [])))
            await conn.execute(self.store.dialect.upsert(t.settings, {"key": LIST_KEY, "value": entries}, "key"))
        return {"ok": True, **await self.public()}

    async def add(self, raw: object, name: object = None, create: object = False) -> dict[str, Any]:
        if not isinstance(raw, str) or not raw.strip():
            raise BadRequest("path is required")
        if not isinstance(create, bool):
            raise BadRequest("create must be true or false")
        settings = self.settings
        resolved = await pool.run(
            check_saved, raw.strip(), settings.resolved_workspace_roots, state_dir=settings.home,
            default=settings.resolved_default_workspace, create=create,
        )
        label = clean_name(name, resolved)

        def append(entries: list[dict[str, str]]) -> list[dict[str, str]]:
            if any(w["path"] == str(resolved) for w in entries):
                raise BadRequest(f"workspace already in list: {resolved}", path=str(resolved))
            if len(entries) >= MAX_SAVED:
                raise BadRequest(f"at most {MAX_SAVED} saved workspaces; remove one first")
            return [*entries, {"path": str(resolved), "name": label}]

        return await self._change(append)

    async def remove(self, raw: object) -> dict[str, Any]:
        """Idempotent, as Hermes WebUI: a path not in the list changes nothing. The folder is not touched."""
        path = _required_path(raw)
        return await self._change(lambda entries: [w for w in entries if w["path"] not in (path, _normal(path))])

    async def rename(self, raw: object, name: object) -> dict[str, Any]:
        path = _required_path(raw)
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("name is required")

        def rename(entries: list[dict[str, str]]) -> list[dict[str, str]]:
            for entry in entries:
                if entry["path"] in (path, _normal(path)):
                    entry["name"] = clean_name(name, entry["path"])
                    return entries
            raise NotFound(f"workspace not found: {path}")

        return await self._change(rename)

    async def reorder(self, paths: object) -> dict[str, Any]:
        """The given paths first, in that order; the ones left out keep their order after them
        (paths not in the list are ignored)."""
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise BadRequest("paths is required and must be a list of strings")
        wanted = [p.strip() for p in paths]

        def reorder(entries: list[dict[str, str]]) -> list[dict[str, str]]:
            by_path = {w["path"]: w for w in entries}
            ordered: list[dict[str, str]] = []
            for p in wanted:
                entry = by_path.pop(p, None) or by_path.pop(_normal(p), None)
                if entry is not None:
                    ordered.append(entry)
            return ordered + [w for w in entries if w["path"] in by_path]

        return await self._change(reorder)

    async def suggest(self, prefix: str) -> dict[str, Any]:
        found = await pool.run(suggest, prefix, self.settings.resolved_workspace_roots)
        return {"suggestions": found, "prefix": prefix}

    async def choose(self, raw: str | None, *, last: bool = True) -> str:
        """The workspace for a session: ``raw`` checked, else (with ``last``) the last one used while it
        is still allowed, else the default workspace (made if missing)."""
        roots = self.settings.resolved_workspace_roots
        check = partial(check_workspace, state_dir=self.settings.home)
        if raw:
            return str(await pool.run(check, raw, roots))
        previous = await self.last() if last else None
        if previous:
            try:
                return str(await pool.run(check, previous, roots))
            except BadRequest:
                pass  # moved, deleted or no longer allowed: fall back to the default
        default = self.settings.resolved_default_workspace
        await pool.run(default.mkdir, parents=True, exist_ok=True)
        return str(default)

    async def used(self, workspace: str) -> None:
        """Remember ``workspace`` as the last one used (a write only when it changes)."""
        if await self.last() != workspace:
            await self._write(LAST_KEY, workspace)


def _required_path(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise BadRequest("path is required")
    return raw.strip()


def _normal(path: str) -> str:
    return os.path.normpath(os.path.expanduser(path)) if path.startswith(("/", "~")) else path
