"""Uploads (reference §2.5): ``/api/upload`` puts a file in the session's workspace and a copy in the
session's attachment folder; ``/api/workspace/upload`` puts files in the workspace and extracts zip and
tar archives there. The work is ``threadline.workspace``'s, on its thread pool."""

from __future__ import annotations

import mimetypes
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from threadline.web.deps import JSON, ServicesDep
from threadline.web.jails import PATH_LIMIT, session_jail
from threadline.workspace import archives, writing
from threadline.workspace.media import attachment_folder

router = APIRouter(prefix="/api", tags=["files"])

SessionForm = Annotated[str, Form(min_length=1, max_length=64)]
FolderForm = Annotated[str, Form(max_length=PATH_LIMIT)]


def _described(name: str) -> dict[str, Any]:
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return {"mime": mime, "is_image": mime.startswith("image/")}


@router.post("/upload")
async def upload(
    services: ServicesDep, session_id: SessionForm, file: Annotated[UploadFile, File()], path: FolderForm = "",
) -> JSON:
    """Multipart ``session_id``, ``file`` and optional ``path`` (a folder of the workspace). The name is
    reduced to ``[\\w.- ]``; a taken name gets ``-1``, ``-2``...; 413 above the body limit (20 MB).
    ``{ok, filename, path, workspace_path, size, mime, is_image}``: ``path`` is the absolute path of the
    copy in the session's attachment folder (as Hermes WebUI answers), ``workspace_path`` the file in
    the workspace, relative to it (what the agent reads and chat attachments name)."""
    jail = await session_jail(services, session_id)
    copy_to = attachment_folder(services.settings.attachments_dir, session_id)
    done = await services.workspace_pool.run(
        writing.upload, jail, path, file.filename, file.file, services.settings.max_body_bytes, copy_to=copy_to)
    return {"ok": True, "filename": done["filename"], "path": done["attachment"], "workspace_path": done["path"],
            "size": done["size"], **_described(done["filename"])}


@router.post("/workspace/upload")
async def workspace_upload(
    services: ServicesDep, session_id: SessionForm, file: Annotated[list[UploadFile], File()], path: FolderForm = "",
) -> JSON:
    """Multipart ``session_id``, one or more ``file`` and optional ``path`` (a folder). A zip or tar
    archive (``.zip .tar .tar.gz .tgz .tar.bz2 .tbz2 .tar.xz .txz``) is extracted into a new folder
    named after it; any other file is stored like ``/api/upload`` (without the attachment copy). One
    file answers its result, several ``{files, count}``; ``path`` is absolute, as Hermes WebUI answers.
    A hostile archive (links, devices, absolute names, ``..``, too many members, too many bytes) is
    refused with 400 or 413 and leaves nothing behind."""
    jail = await session_jail(services, session_id)
    settings = services.settings
    limits = archives.Limits(total_bytes=settings.archive_max_bytes, file_bytes=settings.archive_max_file_bytes,
                             members=settings.archive_max_members)
    results: list[dict[str, Any]] = []
    for item in file:
        if archives.is_archive(writing.upload_name(item.filename)):
            results.append(await services.workspace_pool.run(archives.extract, jail, path, item.filename, item.file,
                                                             limits))
            continue
        done = await services.workspace_pool.run(
            writing.upload, jail, path, item.filename, item.file, settings.max_body_bytes)
        results.append({"ok": True, "filename": done["filename"], "path": str(jail.root / done["path"]),
                        "size": done["size"], **_described(done["filename"]), "extracted": False})
    return results[0] if len(results) == 1 else {"ok": True, "files": results, "count": len(results)}
