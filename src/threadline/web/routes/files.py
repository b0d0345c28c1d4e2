"""The workspace file API (reference §2.5), rooted at the session's workspace, inside the jail.

File contents come back as they are (no secrets redaction): the editor saves what it shows. The work
itself is ``threadline.workspace``'s, on its thread pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, JSONResponse
from pydantic import Field
from starlette.types import Receive, Scope, Send

from threadline.errors import BadRequest, Forbidden
from threadline.web.deps import JSON, ServicesDep
from threadline.web.jails import PATH_LIMIT, session_jail
from threadline.web.schemas import Body, SessionId
from threadline.workspace import check_workspace, entries, listing, media, reading, writing
from threadline.workspace.reading import RawFile

router = APIRouter(prefix="/api", tags=["files"], default_response_class=JSONResponse)

RAW_CSP = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; frame-ancestors 'none'"

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


class OpenFileResponse(FileResponse):
    """A ``FileResponse`` (ranges, ETag) over a file the workspace already opened and checked:
    nothing opens the path again, so a FIFO swapped in meanwhile is never read."""

    def __init__(self, raw: RawFile, **options: Any) -> None:
        super().__init__(raw.name, media_type=raw.media_type, filename=raw.name, stat_result=raw.stat, **options)
        self.handle = raw.handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = {k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"}
        try:
            await super().__call__({**scope, "extensions": extensions}, receive, send)
        finally:
            self.handle.close()

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        yield anyio.wrap_file(self.handle)  # closed in __call__


@router.get("/list")
async def list_dir(services: ServicesDep, session_id: SessionQuery, path: PathQuery = ".") -> JSON:
    """``{path, entries: [{name, path, type: dir|file|symlink|special, is_dir, size, modified, target?,
    special?, undecodable?}], total, truncated}``: folders first, then by name; at most 500 entries.
    A name that is not UTF-8 is shown with U+FFFD and ``undecodable: true``; its ``path`` still opens it."""
    jail = await session_jail(services, session_id)
    return await services.workspace_pool.run(listing.list_dir, jail, path)


@router.get("/file")
async def read_file(services: ServicesDep, session_id: SessionQuery, path: PathQuery) -> JSON:
    """``{path, content, size, lines}`` of a UTF-8 text file up to 1 MB; 413 if larger, 415 if binary,
    400 for a folder, a FIFO, a socket or a device."""
    jail = await session_jail(services, session_id)
    return (await services.workspace_pool.run(reading.read_text, jail, path)).public()


@router.get("/file/raw", response_class=FileResponse)
async def raw_file(
    services: ServicesDep, session_id: SessionQuery, path: PathQuery, download: Flag = 0, inline: Flag = 0,
) -> FileResponse:
    """The bytes with their media type, under a sandboxing CSP. HTML, SVG and XML download unless
    ``inline=1`` (then still sandboxed, scripts off); scripts and styles come back as text/plain."""
    jail = await session_jail(services, session_id)
    raw = await services.workspace_pool.run(reading.open_raw, jail, path)
    attach = bool(download) or (raw.media_type in reading.ACTIVE_TYPES and not inline)
    return OpenFileResponse(
        raw, content_disposition_type="attachment" if attach else "inline",
        headers={"Content-Security-Policy": RAW_CSP, "Cache-Control": "no-store"},
    )


@router.post("/file/save")
async def save_file(body: FileSave, services: ServicesDep) -> JSON:
    """Replace an existing file's content (atomically, mode kept); ``{ok, path, size}``. 403 for a file
    with more than one hard link (another name of it may be outside the workspace)."""
    jail = await session_jail(services, body.session_id)
    return await services.workspace_pool.run(writing.save, jail, body.path, body.content)


@router.post("/file/create")
async def create_file(body: FileCreate, services: ServicesDep) -> JSON:
    """A new file (missing folders are made); 409 if something is there."""
    jail = await session_jail(services, body.session_id)
    return await services.workspace_pool.run(writing.create, jail, body.path, body.content)


@router.post("/file/rename")
async def rename_file(body: FileRename, services: ServicesDep) -> JSON:
    """Rename in place: ``new_name`` is a name, not a path; 409 if it exists. ``{ok, old_path, new_path}``."""
    jail = await session_jail(services, body.session_id)
    return await services.workspace_pool.run(entries.rename, jail, body.path, body.new_name)


@router.post("/file/create-dir")
async def create_dir(body: FileRef, services: ServicesDep) -> JSON:
    jail = await session_jail(services, body.session_id)
    return await services.workspace_pool.run(writing.create_dir, jail, body.path)


@router.post("/file/delete")
async def delete_file(body: FileDelete, services: ServicesDep) -> JSON:
    """A file, a symlink (not its target) or an empty folder; a folder with contents needs
    ``recursive: true`` (else 409)."""
    jail = await session_jail(services, body.session_id)
    return await services.workspace_pool.run(entries.delete, jail, body.path, body.recursive)


@router.post("/file/path")
async def file_path(body: FileRef, services: ServicesDep) -> JSON:
    """``{ok, path}``: the absolute path of a workspace file (symlinks resolved, inside the jail); the
    file need not exist, as in Hermes WebUI."""
    jail = await session_jail(services, body.session_id)
    real = await services.workspace_pool.run(jail.resolve, body.path)
    return {"ok": True, "path": str(real)}


DESKTOP_ACTIONS = {
    "reveal": "shows the file in a file manager",
    "open-vscode": "opens the file in VS Code",
}


@router.post("/file/reveal")
async def reveal() -> JSON:
    raise _desktop("reveal")


@router.post("/file/open-vscode")
async def open_vscode() -> JSON:
    raise _desktop("open-vscode")


def _desktop(action: str) -> Forbidden:
    return Forbidden(
        f"{action} {DESKTOP_ACTIONS[action]} on the server's desktop; Threadline runs as a server and does not start "
        "programs on its desktop. POST /api/file/path gives the file's absolute path instead.",
        unsupported=action,
    )


@router.get("/media", response_class=FileResponse)
async def get_media(
    services: ServicesDep, path: PathQuery, session_id: Annotated[str | None, Query(max_length=64)] = None,
) -> FileResponse:
    """An image by absolute path, from the session's workspace (without ``session_id``, the last
    workspace used, as Hermes WebUI) or the state directory; 403 elsewhere, 415 for what is not an
    image. Images are inline, SVG is a download."""
    settings = services.settings
    if session_id:
        workspace = (await services.sessions.get(session_id, messages=False))["workspace"]
    else:
        workspace = await services.sessions.workspaces.last() or str(settings.resolved_default_workspace)
    roots = [settings.home]
    try:
        allowed = settings.resolved_workspace_roots
        roots.insert(0, await services.workspace_pool.run(
            partial(check_workspace, state_dir=services.settings.home), workspace, allowed
        ))
    except BadRequest:
        pass  # a workspace no longer allowed lends nothing
    raw = await services.workspace_pool.run(media.open_media, path, roots)
    attach = raw.media_type == media.SVG
    return OpenFileResponse(
        raw, content_disposition_type="attachment" if attach else "inline",
        headers={"Content-Security-Policy": RAW_CSP, "Cache-Control": "private, max-age=3600"},
    )
