"""Writing workspace files: the editor's save and create, the tools' write and edit, uploads.

Replacing a file always goes through ``fileio.write_atomic`` (temporary file, fsync, rename, mode
kept), which refuses folders, FIFOs and other special files, and files with more than one hard link.
New files are created exclusively (``O_EXCL``), so nothing that appeared meanwhile is overwritten.
Blocking: run these on the workspace pool.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from threadline.errors import AlreadyExists, BadRequest, Conflict, PayloadTooLarge
from threadline.workspace.fileio import os_errors, sync_folder, write_atomic
from threadline.workspace.jail import Jail
from threadline.workspace.reading import read_text

CHUNK = 1024 * 1024
MAX_UPLOAD_NAME = 200
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\- ]+")


def make_parents(jail: Jail, path: Path) -> None:
    """Create the missing folders above ``path``, then check they are still inside the workspace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    jail.resolve(os.path.relpath(path.parent, jail.root), must_exist=True)


def _new_file(jail: Jail, rel: str) -> Path:
    path = jail.resolve(rel)
    if path == jail.root:
        raise BadRequest("a file needs a name")
    return path


def save(jail: Jail, rel: str, content: str) -> dict[str, Any]:
    """Replace an existing file's content."""
    path = jail.resolve(rel, must_exist=True)
    data = content.encode("utf-8")
    with os_errors():
        write_atomic(path, data, jail.relative(path), must_exist=True)
    return {"ok": True, "path": jail.relative(path), "size": len(data)}


def create(jail: Jail, rel: str, content: str) -> dict[str, Any]:
    """A new file (missing folders are made); ``AlreadyExists`` (400) if anything is there."""
    path = _new_file(jail, rel)
    if os.path.lexists(path):
        raise AlreadyExists(f"{jail.relative(path)} already exists")
    data = content.encode("utf-8")
    with os_errors():
        make_parents(jail, path)
        fd = os.open(path, _CREATE_FLAGS, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        sync_folder(path.parent)
    return {"ok": True, "path": jail.relative(path), "size": len(data)}


@dataclass(frozen=True, slots=True)
class Written:
    path: str
    size: int


def write(jail: Jail, rel: str, content: str) -> Written:
    """Replace or create a file, making missing folders (``write_file``)."""
    path = _new_file(jail, rel)
    data = content.encode("utf-8")
    with os_errors():
        make_parents(jail, path)
        write_atomic(path, data, jail.relative(path))
    return Written(jail.relative(path), len(data))


def edit(jail: Jail, rel: str, old: str, new: str, *, replace_all: bool = False) -> Written:
    """Replace ``old`` (exactly once, or everywhere with ``replace_all``) in a text file (``edit_file``).
    ``Written.size`` is the number of replacements."""
    if not old:
        raise BadRequest("'old' must not be empty; use write_file to create a file")
    text = read_text(jail, rel)
    count = text.content.count(old)
    if count == 0:
        raise BadRequest(f"the text to replace was not found in {text.path}; read the file and copy it exactly")
    if count > 1 and not replace_all:
        raise BadRequest(f"the text to replace occurs {count} times in {text.path}; add context or set replace_all")
    updated = text.content.replace(old, new) if replace_all else text.content.replace(old, new, 1)
    path = jail.resolve(rel, must_exist=True)
    with os_errors():
        write_atomic(path, updated.encode("utf-8"), text.path, must_exist=True)
    return Written(text.path, count if replace_all else 1)


def create_dir(jail: Jail, rel: str) -> dict[str, Any]:
    path = jail.resolve(rel)
    if os.path.lexists(path):
        raise AlreadyExists(f"{jail.relative(path)} already exists")
    with os_errors():
        path.mkdir(parents=True)
    return {"ok": True, "path": jail.relative(path)}


def upload_name(raw: str | None) -> str:
    """A safe file name from a browser's: last component, ``[\\w.- ]`` only, at most 200 characters."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip(" .")
    if not name or set(name) <= {"_"}:
        name = "upload" + (("_" + name) if name else "")
    if len(name) > MAX_UPLOAD_NAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_UPLOAD_NAME - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_UPLOAD_NAME]
    return name


def make_folder(jail: Jail, folder_rel: str) -> Path:
    """The folder ``folder_rel`` (made if missing), checked to be a folder inside the workspace."""
    folder = jail.resolve(folder_rel or ".")
    with os_errors():
        folder.mkdir(parents=True, exist_ok=True)
    folder = jail.resolve(os.path.relpath(folder, jail.root), must_exist=True)
    if not folder.is_dir():
        raise BadRequest(f"not a folder: {jail.relative(folder)}")
    return folder


def create_unique(folder: Path, name: str) -> tuple[int, Path]:
    """A new file ``name`` in ``folder`` (``name-1.ext``, ``name-2.ext``... if taken), opened for writing."""
    stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
    for attempt in range(1000):
        target = folder / (name if attempt == 0 else f"{stem}-{attempt}{dot}{ext}")
        try:
            return os.open(target, _CREATE_FLAGS, 0o644), target
        except FileExistsError:
            continue
    raise Conflict(f"too many files named like {name}")


def upload(
    jail: Jail, folder_rel: str, filename: str | None, source: IO[bytes], limit: int, copy_to: Path | None = None,
) -> dict[str, Any]:
    """Copy ``source`` into a new file (``name-1.ext`` if taken) in chunks; 413 past ``limit`` bytes.
    With ``copy_to`` (a folder outside the workspace, made if missing) the same bytes also go to a new
    file there, whose absolute path is ``attachment``."""
    folder = make_folder(jail, folder_rel)
    name = upload_name(filename)
    created: list[Path] = []
    size = 0
    with os_errors(), contextlib.ExitStack() as stack:
        try:
            fd, target = create_unique(folder, name)
            created.append(target)
            outputs = [stack.enter_context(os.fdopen(fd, "wb"))]
            if copy_to is not None:
                copy_to.mkdir(parents=True, exist_ok=True)
                if os.path.realpath(copy_to) != str(copy_to):
                    raise BadRequest("the attachment folder is a symbolic link")
                copy_fd, copy = create_unique(copy_to, target.name)
                created.append(copy)
                outputs.append(stack.enter_context(os.fdopen(copy_fd, "wb")))
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the file is larger than {limit // (1024 * 1024)} MB")
                for handle in outputs:
                    handle.write(chunk)
            for handle in outputs:
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            for path in created:
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
    result = {"ok": True, "filename": target.name, "path": jail.relative(target), "size": size}
    if copy_to is not None:
        result["attachment"] = str(created[-1])
    return result
