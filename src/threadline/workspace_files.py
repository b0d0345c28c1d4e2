"""The workspace file operations behind the file API (reference §2.5), every path through the Jail.

Blocking functions: the web layer runs them in a worker thread. Paths in and out are relative to
the workspace root with ``/`` separators. Rename and delete act on the entry itself (a symlink is
renamed or removed, never its target); everything else follows symlinks only inside the root.
Errors are the shared vocabulary: ``PathEscape`` (400), ``NotFound``, ``Conflict``, ``Forbidden``,
``PayloadTooLarge``, ``Unsupported`` (415).
"""

from __future__ import annotations

import contextlib
import errno
import mimetypes
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from threadline.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, ThreadlineError
from threadline.workspaces import MAX_COMPONENT_BYTES, Jail, PathEscape

MAX_LIST_ENTRIES = 500
MAX_TEXT_BYTES = 1024 * 1024
MAX_UPLOAD_NAME = 200
CHUNK = 1024 * 1024
# Served as an attachment unless ``inline=1`` (and then sandboxed without scripts): active content.
ACTIVE_TYPES = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
                          "application/xslt+xml", "text/xsl"})
# Never served as something a page could execute or apply: scripts and styles come back as text.
AS_TEXT_TYPES = frozenset({"text/javascript", "application/javascript", "application/x-javascript", "text/css",
                           "application/wasm", "application/json", "text/x-python", "application/x-sh"})


class Unsupported(ThreadlineError):
    status = 415


@contextlib.contextmanager
def os_errors() -> Iterator[None]:
    """Turn an ``OSError`` into the error vocabulary, without the absolute path in the message."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise NotFound(f"no such file or directory ({reason})") from None
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise Conflict(reason) from None
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise Forbidden(f"permission denied ({reason})") from None
        raise BadRequest(f"file operation failed: {reason}") from None


def check_name(name: object) -> str:
    """A single path component: no separators, NUL, '.' or '..'."""
    if not isinstance(name, str) or not name or name in (".", ".."):
        raise PathEscape("a name must be a non-empty string other than '.' and '..'")
    if "/" in name or "\\" in name or "\x00" in name:
        raise PathEscape("a name cannot contain '/', '\\' or NUL")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_COMPONENT_BYTES:
        raise PathEscape(f"a name is at most {MAX_COMPONENT_BYTES} bytes")
    return name


def entry(jail: Jail, rel: str) -> Path:
    """The entry ``rel`` names, its last component not followed (for rename and delete)."""
    if not isinstance(rel, str):
        raise PathEscape("path must be a string")
    parent_rel, _, name = rel.rstrip("/").rpartition("/")
    if not name or name in (".", ".."):
        raise PathEscape("the workspace root itself cannot be renamed or deleted")
    parent = jail.resolve(parent_rel or ".", must_exist=True)
    path = parent / check_name(name)
    if not os.path.lexists(path):
        raise NotFound(f"no such file or directory: {jail.relative(path)}")
    if not path.is_symlink():
        jail.resolve(rel)  # every check on the whole text (a symlink may point anywhere: it is not followed)
    return path


def _kind(st: os.stat_result) -> str:
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    return "dir" if stat.S_ISDIR(st.st_mode) else "file"


def list_dir(jail: Jail, rel: str) -> dict[str, Any]:
    folder = jail.resolve(rel or ".", must_exist=True)
    if not folder.is_dir():
        raise BadRequest(f"not a folder: {jail.relative(folder)}")
    rows: list[dict[str, Any]] = []
    with os_errors(), os.scandir(folder) as it:
        for item in it:
            try:
                st = item.stat(follow_symlinks=False)
            except OSError:
                continue
            path = folder / item.name
            kind = _kind(st)
            row: dict[str, Any] = {"name": item.name, "path": jail.relative(path), "type": kind}
            if kind == "symlink":
                try:
                    target = jail.resolve(row["path"])
                    row["target"] = jail.relative(target)
                    row["is_dir"] = target.is_dir()
                    row["size"] = target.stat().st_size if target.is_file() else None
                except (ThreadlineError, OSError):
                    row.update(is_dir=False, size=None, broken=True)  # outside, looping or dangling
            else:
                row["is_dir"] = kind == "dir"
                row["size"] = None if kind == "dir" else st.st_size
            row["modified"] = st.st_mtime
            rows.append(row)
    rows.sort(key=lambda r: (not r["is_dir"], r["name"].casefold(), r["name"]))
    return {"path": jail.relative(folder), "entries": rows[:MAX_LIST_ENTRIES], "total": len(rows),
            "truncated": len(rows) > MAX_LIST_ENTRIES}


def _regular_file(jail: Jail, rel: str) -> Path:
    path = jail.resolve(rel, must_exist=True)
    if path.is_dir():
        raise BadRequest(f"{jail.relative(path)} is a folder")
    if not path.is_file():
        raise BadRequest(f"{jail.relative(path)} is not a regular file")
    return path


def read_text(jail: Jail, rel: str) -> dict[str, Any]:
    path = _regular_file(jail, rel)
    shown = jail.relative(path)
    with os_errors():
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise PayloadTooLarge(f"{shown} is larger than {MAX_TEXT_BYTES // 1024} KB; download it instead",
                                  size=size)
        data = path.read_bytes()[: MAX_TEXT_BYTES + 1]
    if b"\x00" in data[:8192]:
        raise Unsupported(f"{shown} is a binary file; download it instead", binary=True, size=size)
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unsupported(f"{shown} is not UTF-8 text; download it instead", binary=True, size=size) from None
    return {"path": shown, "content": content, "size": len(data), "lines": content.count("\n") + 1,
            "modified": path.stat().st_mtime}


def raw_info(jail: Jail, rel: str) -> tuple[Path, str, str]:
    """(path, media type, display name) for a raw download."""
    path = _regular_file(jail, rel)
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media in AS_TEXT_TYPES or (media.startswith("text/") and media not in ACTIVE_TYPES):
        media = "text/plain"
    return path, media, path.name


def _write_atomic(path: Path, data: bytes) -> None:
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".threadline-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def save(jail: Jail, rel: str, content: str) -> dict[str, Any]:
    path = _regular_file(jail, rel)
    data = content.encode("utf-8")
    with os_errors():
        _write_atomic(path, data)
    return {"ok": True, "path": jail.relative(path), "size": len(data)}


def create(jail: Jail, rel: str, content: str) -> dict[str, Any]:
    path = jail.resolve(rel)
    if path == jail.root:
        raise BadRequest("a file needs a name")
    if os.path.lexists(path):
        raise Conflict(f"{jail.relative(path)} already exists")
    data = content.encode("utf-8")
    with os_errors():
        path.parent.mkdir(parents=True, exist_ok=True)
        jail.resolve(jail.relative(path.parent), must_exist=True)  # the folders made are still inside
        with open(path, "xb") as handle:
            handle.write(data)
    return {"ok": True, "path": jail.relative(path), "size": len(data)}


def create_dir(jail: Jail, rel: str) -> dict[str, Any]:
    path = jail.resolve(rel)
    if os.path.lexists(path):
        raise Conflict(f"{jail.relative(path)} already exists")
    with os_errors():
        path.mkdir(parents=True)
    return {"ok": True, "path": jail.relative(path)}


def rename(jail: Jail, rel: str, new_name: str) -> dict[str, Any]:
    source = entry(jail, rel)
    target = source.parent / check_name(new_name)
    if os.path.lexists(target):
        raise Conflict(f"{jail.relative(target)} already exists")
    with os_errors():
        os.rename(source, target)
    return {"ok": True, "old_path": jail.relative(source), "new_path": jail.relative(target)}


def delete(jail: Jail, rel: str, recursive: bool) -> dict[str, Any]:
    path = entry(jail, rel)
    with os_errors():
        st = path.lstat()
        if not stat.S_ISDIR(st.st_mode):
            path.unlink()  # a file, or a symlink itself (never its target)
        elif recursive:
            shutil.rmtree(path)  # does not follow symlinks
        elif any(path.iterdir()):
            raise Conflict(f"{jail.relative(path)} is not empty; send recursive: true to delete it with its "
                           "contents")
        else:
            path.rmdir()
    return {"ok": True, "path": jail.relative(path)}


_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\- ]+")


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


def upload(jail: Jail, folder_rel: str, filename: str | None, source: IO[bytes], limit: int) -> dict[str, Any]:
    """Copy ``source`` into a new file (``name-1.ext`` if taken) in chunks; 413 past ``limit`` bytes."""
    folder = jail.resolve(folder_rel or ".")
    name = upload_name(filename)
    with os_errors():
        folder.mkdir(parents=True, exist_ok=True)
        folder = jail.resolve(jail.relative(folder), must_exist=True)
        if not folder.is_dir():
            raise BadRequest(f"not a folder: {jail.relative(folder)}")
        stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
        for attempt in range(1000):
            candidate = name if attempt == 0 else f"{stem}-{attempt}{dot}{ext}"
            target = folder / candidate
            try:
                handle = open(target, "xb")
            except FileExistsError:
                continue
            break
        else:
            raise Conflict(f"too many files named like {name}")
        size = 0
        try:
            with handle:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLarge(f"the file is larger than {limit // (1024 * 1024)} MB")
                    handle.write(chunk)
        except BaseException:
            with contextlib.suppress(OSError):
                target.unlink()
            raise
    return {"ok": True, "filename": target.name, "path": jail.relative(target), "size": size}
