"""Skills (reference §2.7): Hermes WebUI's ``/api/skills`` paths, plus enable/disable (``toggle``, as in
Hermes WebUI's later versions) and importing a folder of skills uploaded from the browser."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import Field

from threadline.errors import BadRequest
from threadline.skills.documents import MAX_SKILL_CHARS
from threadline.web.deps import JSON, SkillsDep
from threadline.web.schemas import Body
from threadline.workspace import Jail
from threadline.workspace.writing import make_parents

router = APIRouter(prefix="/api", tags=["skills"])

MAX_IMPORT_FILES = 2000


class SkillSave(Body):
    name: str = Field(min_length=1, max_length=64)
    content: str = Field(max_length=MAX_SKILL_CHARS)
    category: str | None = Field(default=None, max_length=64)
    file: str | None = Field(default=None, max_length=4096)


class SkillRef(Body):
    name: str = Field(min_length=1, max_length=64)


class SkillToggle(SkillRef):
    enabled: bool


@router.get("/skills")
async def list_skills(skills: SkillsDep) -> JSON:
    """``{skills: [{name, description, category, enabled, path, files, updated_at, error}], categories}``;
    ``error`` says why a skill cannot be used (its SKILL.md is invalid...)."""
    found = [s.public() for s in await skills.all()]
    categories = sorted({s["category"] for s in found if s["category"]})
    return {"skills": found, "categories": categories, "count": len(found)}


@router.get("/skills/content")
async def skill_content(
    skills: SkillsDep, name: Annotated[str, Query(min_length=1, max_length=64)],
    file: Annotated[str | None, Query(max_length=4096)] = None,
) -> JSON:
    """The skill's SKILL.md (``content``, ``body``, ``front_matter``, ``linked_files``), or with ``file``
    one of its files (``{name, file, content}``), kept inside the skill's folder."""
    return await skills.content(name, file)


@router.post("/skills/save")
async def save_skill(body: SkillSave, skills: SkillsDep) -> JSON:
    """Write SKILL.md (front matter checked first; a new skill goes under ``category``), or with ``file``
    another file of the skill."""
    skill = await skills.save(body.name, body.content, body.category, body.file)
    return {"ok": True, "skill": skill.public()}


@router.post("/skills/delete")
async def delete_skill(body: SkillRef, skills: SkillsDep) -> JSON:
    await skills.delete(body.name)
    return {"ok": True, "name": body.name}


@router.post("/skills/toggle")
async def toggle_skill(body: SkillToggle, skills: SkillsDep) -> JSON:
    """Enable or disable a skill: a disabled one is not listed to the model nor loadable by it."""
    await skills.set_enabled(body.name, body.enabled)
    return {"ok": True, "skill": (await skills.get(body.name)).public()}


@router.post("/skills/import")
async def import_skills(
    skills: SkillsDep,
    files: Annotated[list[UploadFile], File()],
    paths: Annotated[list[str], Form()],
    overwrite: Annotated[bool, Form()] = False,
) -> JSON:
    """A folder uploaded from the browser: ``files`` with their ``paths`` (relative, in the same order,
    starting with the chosen folder's name). Every skill in it (a folder with a SKILL.md) is copied in,
    under its category (the folder holding it, below the chosen one); ``{imported, skipped, failed}``."""
    if len(files) != len(paths):
        raise BadRequest("send one path per file")
    if len(files) > MAX_IMPORT_FILES:
        raise BadRequest(f"at most {MAX_IMPORT_FILES} files at once")
    staging = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="threadline-skills-"))
    try:
        jail = Jail(staging)
        for upload, rel in zip(files, paths, strict=True):
            data = await upload.read()
            await asyncio.to_thread(_put, jail, rel, data)
        report = await skills.import_from(_chosen_folder(jail, paths), overwrite=overwrite)
    finally:
        await asyncio.to_thread(shutil.rmtree, staging, True)
    return {"ok": True} | report.public()


def _chosen_folder(jail: Jail, paths: list[str]) -> Path:
    """The folder the user chose: the one first component every path shares, else the upload's root."""
    tops = {rel.strip("/").split("/", 1)[0] for rel in paths}
    if len(tops) != 1 or not all("/" in rel.strip("/") for rel in paths):
        return jail.root
    folder = jail.resolve(tops.pop())
    return folder if folder != jail.root and folder.is_dir() else jail.root


def _put(jail: Jail, rel: str, data: bytes) -> None:
    path = jail.resolve(rel)
    if path == jail.root:
        raise BadRequest("every file needs a path")
    make_parents(jail, path)
    path.write_bytes(data)
