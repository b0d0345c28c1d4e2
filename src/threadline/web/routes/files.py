"""The workspace file API (reference §2.5), rooted at the session's workspace, inside the jail.

File contents come back as they are (no secrets redaction): the editor saves what it shows.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import Field

from threadline import workspace_files as files
from threadline.errors import BadRequest, Forbidden, NotFound
from threadline.sessions.paths import check_workspace
from threadline.web.deps import JSON, ServicesDep
from threadline.web.schemas import Body, SessionId
from threadline.workspaces import Jail

router = APIRouter(prefix="/api", tags=["files"], default_response_class=JSONResponse)

RAW_CSP = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; frame-ancestors 'none'"
PATH_LIMIT = 8192  # longer than the jail allows, so the jail gives the precise error

SessionQuery = Annotated[str, Query(min_length=1, max_length=64)]
PathQuery = Annotated[str, Query(max_length=PATH_LIMIT)]
Flag = Annotated[int, Query(ge=0, le=1)]
PathField = Field(max_length=PATH_LIMIT)


class FileRef(Body):
    session_id: str = SessionId
    path: str = PathField


class FileSave(FileRef):
    content: str = Field(max_length=50 * 1024 * 1024)


class FileCreate(FileRef):
    content: str = Field(default="", max_length=50 * 1024 * 1024)


class FileRename(FileRef):
    new_name: str = Field(min_length=1, max_length=1024)


class FileDelete(FileRef):
    recursive: bool = False


async def session_jail(services: ServicesDep, session_id: str) -> Jail:
    """404 for an unknown session; 403 if its workspace is (no longer) under the allowed roots."""
    session = await services.sessions.get(session_id, messages=False)
    workspace = session["workspace"]
    if not workspace or not Path(workspace).is_dir():
        raise NotFound("this session's workspace folder does not exist")
    try:
        root = check_workspace(workspace, services.settings.resolved_workspace_roots)
    except BadRequest as exc:
        raise Forbidden(f"this session's workspace is not allowed: {exc.message}") from None
    return Jail(root)


@router.get("/list")
async def list_dir(services: ServicesDep, session_id: SessionQuery, path: PathQuery = ".") -> JSON:
    """``{path, entries: [{name, path, type: dir|file|symlink, is_dir, size, modified, target?}], total,
    truncated}``: folders first, then by name; at most 500 entries."""
    jail = await session_jail(services, session_id)
    return await asyncio.to_thread(files.list_dir, jail, path)


@router.get("/file")
async def read_file(services: ServicesDep, session_id: SessionQuery, path: PathQuery) -> JSON:
    """``{path, content, size, lines}`` of a UTF-8 text file up to 1 MB; 413 if larger, 415 if binary."""
    jail = await session_jail(services, session_id)
    return await asyncio.to_thread(files.read_text, jail, path)


@router.get("/file/raw", response_class=FileResponse)
async def raw_file(
    services: ServicesDep, session_id: SessionQuery, path: PathQuery, download: Flag = 0, inline: Flag = 0,
) -> FileResponse:
    """The bytes with their media type, under a sandboxing CSP. HTML, SVG and XML download unless
    ``inline=1`` (then still sandboxed, scripts off); scripts and styles come back as text/plain."""
    jail = await session_jail(services, session_id)
    file_path, media, name = await asyncio.to_thread(files.raw_info, jail, path)
    attach = bool(download) or (media in files.ACTIVE_TYPES and not inline)
    return FileResponse(
        file_path, media_type=media, filename=name, stat_result=await asyncio.to_thread(os.stat, file_path),
        content_disposition_type="attachment" if attach else "inline",
        headers={"Content-Security-Policy": RAW_CSP, "Cache-Control": "no-store"},
    )


@router.post("/file/save")
async def save_file(body: FileSave, services: ServicesDep) -> JSON:
    """Replace an existing file's content (atomically); ``{ok, path, size}``."""
    jail = await session_jail(services, body.session_id)
    return await asyncio.to_thread(files.save, jail, body.path, body.content)


@router.post("/file/create")
async def create_file(body: FileCreate, services: ServicesDep) -> JSON:
    """A new file (missing folders are made); 409 if something is there."""
    jail = await session_jail(services, body.session_id)
    return await asyncio.to_thread(files.create, jail, body.path, body.content)


@router.post("/file/rename")
async def rename_file(body: FileRename, services: ServicesDep) -> JSON:
    """Rename in place: ``new_name`` is a name, not a path; 409 if it exists. ``{ok, old_path, new_path}``."""
    jail = await session_jail(services, body.session_id)
    return await asyncio.to_thread(files.rename, jail, body.path, body.new_name)


@router.post("/file/create-dir")
async def create_dir(body: FileRef, services: ServicesDep) -> JSON:
    jail = await session_jail(services, body.session_id)
    return await asyncio.to_thread(files.create_dir, jail, body.path)


@router.post("/file/delete")
async def delete_file(body: FileDelete, services: ServicesDep) -> JSON:
    """A file, a symlink (not its target) or an empty folder; a folder with contents needs
    ``recursive: true`` (else 409)."""
    jail = await session_jail(services, body.session_id)
    return await asyncio.to_thread(files.delete, jail, body.path, body.recursive)


@router.post("/upload")
async def upload(
    services: ServicesDep,
    session_id: Annotated[str, Form(min_length=1, max_length=64)],
    file: Annotated[UploadFile, File()],
    path: Annotated[str, Form(max_length=PATH_LIMIT)] = "",
) -> JSON:
    """Multipart ``session_id``, ``file`` and optional ``path`` (a folder). The name is reduced to
    ``[\\w.- ]``; a taken name gets ``-1``, ``-2``...; 413 above the body limit (20 MB). The upload is
    spooled to disk while it arrives, then copied in chunks. ``{ok, filename, path, size}``."""
    jail = await session_jail(services, session_id)
    limit = services.settings.max_body_bytes
    return await asyncio.to_thread(files.upload, jail, path, file.filename, file.file, limit)
