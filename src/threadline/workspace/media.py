"""Images by absolute path (``GET /api/media``), from a short list of folders, and the per-session
attachment folders uploads are copied to. Blocking: run these on the workspace pool.

A media path is accepted only inside one of the folders given (the session's workspace and the state
directory), through the jail of that folder: ``..``, symlinks that lead out and symlink loops are
refused like anywhere else. Only images are served, by the type of the real file's name: inline,
except SVG (it can hold scripts), which is a download. A file with more than one hard link is
refused: its other name may be anywhere.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
from pathlib import Path

from threadline.errors import BadRequest, Forbidden, ThreadlineError
from threadline.workspace.fileio import Unsupported, open_regular, os_errors
from threadline.workspace.jail import Jail, PathEscape
from threadline.workspace.reading import RawFile

INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/x-icon",
                           "image/vnd.microsoft.icon", "image/bmp", "image/avif"})
SVG = "image/svg+xml"


def open_media(raw: str, roots: list[Path]) -> RawFile:
    """The image at the absolute path ``raw`` inside one of ``roots``, opened; 403 anywhere else."""
    if not raw or not raw.startswith("/"):
        raise BadRequest("path must be an absolute path")
    jail = None
    for root in roots:
        candidate = Jail(root)
        if os.path.normpath(raw) == str(candidate.root) or os.path.normpath(raw).startswith(str(candidate.root) + "/"):
            jail = candidate
            break
    if jail is None:
        raise Forbidden("path not in an allowed location (the session's workspace or the state directory)")
    try:
        path = jail.resolve(raw, must_exist=True)
    except PathEscape as exc:
        raise Forbidden(f"path not in an allowed location: {exc.message}") from None
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media not in INLINE_IMAGES and media != SVG:
        raise Unsupported(f"{path.name} is not an image ({media}); /api/media serves images only")
    with os_errors():
        handle = open_regular(path, path.name)
    st = os.fstat(handle.fileno())
    if st.st_nlink > 1:
        handle.close()
        raise Forbidden(f"{path.name} has {st.st_nlink} hard links; it is not served")
    return RawFile(handle, st, media, path.name)


def attachment_folder(root: Path, session_id: str) -> Path:
    """Where a session's uploads are copied: ``<state>/attachments/<session_id>``. ``session_id`` must
    already be checked (``[0-9a-z_]``)."""
    if not session_id or not all(c.isdigit() or "a" <= c <= "z" or c == "_" for c in session_id):
        raise BadRequest("invalid session id")
    return root / session_id


def remove_attachments(root: Path, session_id: str) -> bool:
    """Delete a session's attachment folder (a symlink in its place is removed, never followed)."""
    folder = attachment_folder(root, session_id)
    try:
        if folder.is_symlink() or not folder.is_dir():
            folder.unlink(missing_ok=True)
            return False
        shutil.rmtree(folder)
    except (OSError, ThreadlineError):
        return False
    return True
