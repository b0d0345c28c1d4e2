"""The skills directory: ``<skills_dir>/<name>/SKILL.md`` or ``<skills_dir>/<category>/<name>/SKILL.md``
(Hermes' layout), a skill's identity being its folder's name. Which skills are disabled is kept in the
database (``settings`` key ``skills_disabled``), so every instance agrees.

File work runs in worker threads; parsed front matter is cached by file size and modification time,
so listing the skills at each run's start reads only what changed. Every path inside a skill goes
through the workspace jail rooted at the skill's folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from threadline.errors import BadRequest, Conflict, NotFound
from threadline.skills.documents import NAME, SKILL_FILE, check_name, parse_skill
from threadline.skills.imports import SkillImport, import_tree
from threadline.store import tables as t
from threadline.store.engine import Store
from threadline.workspace import Jail, PathEscape
from threadline.workspace.reading import read_text
from threadline.workspace.writing import write

DISABLED_KEY = "skills_disabled"
MAX_FILES = 200
SKIPPED = frozenset({".git", "__pycache__", "node_modules", ".venv"})


@dataclass(frozen=True)
class Skill:
    name: str
    category: str | None
    folder: Path
    description: str = ""
    files: list[str] = field(default_factory=list)
    updated_at: float = 0.0
    error: str | None = None  # SKILL.md could not be read: listed so it can be fixed, never shown to the model
    enabled: bool = True

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "category": self.category,
                "enabled": self.enabled, "path": f"{self.category}/{self.name}" if self.category else self.name,
                "files": self.files, "updated_at": self.updated_at, "error": self.error}


def _listed_files(folder: Path) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED and not d.startswith("."))
        base = Path(dirpath)
        for name in sorted(filenames):
            rel = (base / name).relative_to(folder).as_posix()
            if rel != SKILL_FILE and not name.startswith("."):
                found.append(rel)
            if len(found) >= MAX_FILES:
                return found
    return found


@contextlib.contextmanager
def _inside(file: str) -> Iterator[None]:
    """The jail's refusals, said in terms of a skill."""
    try:
        yield
    except PathEscape:
        raise BadRequest(f"{file[:200]!r} is not a file inside the skill's folder") from None


class SkillLibrary:
    def __init__(self, root: Path, store: Store) -> None:
        self.root = root
        self.store = store
        self._cache: dict[Path, tuple[tuple[int, int, int], Skill]] = {}

    # -- finding ---------------------------------------------------------------------------------

    def _folders(self) -> list[tuple[Path, str | None]]:
        if not self.root.is_dir():
            return []
        found: list[tuple[Path, str | None]] = []
        with os.scandir(self.root) as top:
            entries = sorted((e for e in top if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")),
                             key=lambda e: e.name)
        for entry in entries:
            folder = Path(entry.path)
            if (folder / SKILL_FILE).is_file():
                found.append((folder, None))
                continue
            with os.scandir(folder) as inner:
                subs = sorted((e for e in inner if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")),
                              key=lambda e: e.name)
            found.extend((Path(sub.path), entry.name) for sub in subs if (Path(sub.path) / SKILL_FILE).is_file())
        return found

    def _read(self, folder: Path, category: str | None) -> Skill:
        st = (folder / SKILL_FILE).stat()
        key = (st.st_mtime_ns, st.st_size, folder.stat().st_mtime_ns)
        cached = self._cache.get(folder)
        if cached is not None and cached[0] == key:
            return cached[1]
        skill = Skill(folder.name, category, folder, updated_at=st.st_mtime)
        if not NAME.match(folder.name) or ".." in folder.name:
            skill = Skill(folder.name, category, folder, updated_at=st.st_mtime,
                          error="the folder's name is not a skill name (letters, digits, '.', '_', '-'); rename it")
            self._cache[folder] = (key, skill)
            return skill
        try:
            doc = parse_skill((folder / SKILL_FILE).read_text(encoding="utf-8", errors="replace"))
            problem = None if doc.name in (None, folder.name) else f"its front matter names it {doc.name!r}"
            skill = Skill(folder.name, category, folder, doc.description, _listed_files(folder), st.st_mtime, problem)
        except (BadRequest, OSError) as exc:
            skill = Skill(folder.name, category, folder, updated_at=st.st_mtime,
                          error=exc.message if isinstance(exc, BadRequest) else str(exc))
        self._cache[folder] = (key, skill)
        return skill

    def _scan(self) -> list[Skill]:
        skills: dict[str, Skill] = {}
        for folder, category in self._folders():
            try:
                skill = self._read(folder, category)
            except OSError:
                continue  # removed meanwhile
            if skill.name in skills:
                skill = Skill(skill.name, category, folder, skill.description, error="another skill has this name")
                skills[f"{category}/{skill.name}"] = skill
                continue
            skills[skill.name] = skill
        return list(skills.values())

    async def disabled(self) -> set[str]:
        async with self.store.read() as conn:
            value = (await conn.execute(select(t.settings.c.value).where(t.settings.c.key == DISABLED_KEY))).scalar()
        return {str(v) for v in value} if isinstance(value, list) else set()

    async def all(self) -> list[Skill]:
        skills = await asyncio.to_thread(self._scan)
        off = await self.disabled() if skills else set()  # no skills (most runs' case): no query
        return [Skill(s.name, s.category, s.folder, s.description, s.files, s.updated_at, s.error, s.name not in off)
                for s in skills]

    async def enabled(self) -> list[Skill]:
        """The skills the model is told about: enabled and readable."""
        return [s for s in await self.all() if s.enabled and s.error is None]

    async def get(self, name: object) -> Skill:
        name = check_name(name)
        for skill in await self.all():
            if skill.name == name and skill.folder.name == name:
                return skill
        raise NotFound(f"skill not found: {name}")

    # -- reading ---------------------------------------------------------------------------------

    async def content(self, name: object, file: object = None) -> dict[str, Any]:
        """The skill's SKILL.md with its front matter and files, or one of its files (``file``, a path
        inside the skill's folder)."""
        skill = await self.get(name)
        if file not in (None, "", SKILL_FILE):
            if not isinstance(file, str):
                raise BadRequest("file must be a path inside the skill's folder")
            with _inside(file):
                read = await asyncio.to_thread(read_text, Jail(skill.folder), file)
            return {"name": skill.name, "file": read.path, "content": read.content, "size": read.size}
        text = await asyncio.to_thread((skill.folder / SKILL_FILE).read_text, encoding="utf-8", errors="replace")
        result = skill.public() | {"content": text, "linked_files": skill.files}
        try:
            doc = parse_skill(text)
            result |= {"body": doc.body, "front_matter": doc.meta}
        except BadRequest as exc:
            result |= {"body": text, "front_matter": {}, "error": exc.message}
        return result

    # -- writing ---------------------------------------------------------------------------------

    async def save(self, name: object, content: object, category: object = None, file: object = None) -> Skill:
        """Write SKILL.md (checked first) or, with ``file``, another file of an existing skill. A new
        skill goes under ``category`` when one is given; an existing one moves there."""
        name = check_name(name)
        cat = check_name(category, "category") if category not in (None, "") else None
        if not isinstance(content, str):
            raise BadRequest("content must be a string")
        if file not in (None, "", SKILL_FILE):
            if not isinstance(file, str):
                raise BadRequest("file must be a path inside the skill's folder")
            skill = await self.get(name)
            with _inside(file):
                await asyncio.to_thread(write, Jail(skill.folder), file, content)
            self._cache.pop(skill.folder, None)
            return await self.get(name)
        doc = parse_skill(content)
        if doc.name is not None and doc.name != name:
            raise BadRequest(f"the front matter names the skill {doc.name!r}, not {name!r}")
        await asyncio.to_thread(self._save_skill, name, cat, content)
        return await self.get(name)

    def _save_skill(self, name: str, category: str | None, content: str) -> None:
        current = next((s for s in self._scan() if s.name == name and s.folder.name == name), None)
        if current is None:
            folder = (self.root / category / name) if category else self.root / name
            if folder.exists():
                raise Conflict(f"{folder.relative_to(self.root).as_posix()} exists and is not a skill")
        else:
            folder = current.folder
            if category is not None and category != current.category:
                target = self.root / category / name
                if target.exists():
                    raise Conflict(f"{category}/{name} already exists")
                target.parent.mkdir(parents=True, exist_ok=True)
                folder.rename(target)
                folder = target
        folder.mkdir(parents=True, exist_ok=True)
        write(Jail(folder), SKILL_FILE, content)

    async def delete(self, name: object) -> None:
        skill = await self.get(name)
        await asyncio.to_thread(shutil.rmtree, skill.folder)
        self._cache.pop(skill.folder, None)
        await self.set_enabled(skill.name, True, check=False)

    async def import_from(self, source: Path, *, overwrite: bool = False) -> SkillImport:
        """Copy the skills found under ``source`` in (``imports.import_tree``)."""
        taken = {s.name: s.folder for s in await self.all()}
        report = await asyncio.to_thread(import_tree, self.root, source, taken, overwrite=overwrite)
        self._cache.clear()
        return report

    async def set_enabled(self, name: object, enabled: bool, *, check: bool = True) -> None:
        if check:
            name = (await self.get(name)).name
        async with self.store.write() as conn:
            s = t.settings
            value = await self.store.locked_setting(conn, DISABLED_KEY, [])
            off = {str(v) for v in value} if isinstance(value, list) else set()
            off = off - {str(name)} if enabled else off | {str(name)}
            await conn.execute(self.store.dialect.upsert(s, {"key": DISABLED_KEY, "value": sorted(off)}, "key"))
