"""Opening and replacing workspace files safely: the two primitives every read and write goes through.

    NotRegular(BadRequest)   a FIFO, socket or device: never opened for its content
    HardLinked(Forbidden)    a file with more than one link: writing could change a file elsewhere
    Unsupported(415)         binary or not UTF-8 where text is needed

``open_regular`` never blocks on a FIFO, even one swapped in after the check: it looks first
(``stat``), then opens with ``O_NONBLOCK | O_NOFOLLOW`` and checks the open file (``fstat``).
``write_atomic`` writes a temporary file in the same folder, fsyncs it, gives it the old file's mode
and renames it over the target, so a reader sees the old content or the new, never a mix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from threadline.errors import BadRequest, Conflict, Forbidden, NotFound, ThreadlineError
from threadline.workspace.jail import PathEscape

NEW_FILE_MODE = 0o644
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC


class NotRegular(BadRequest):
    pass


class HardLinked(Forbidden):
    pass


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


def kind(mode: int) -> str:
    """What a file is, in words: ``file``, ``folder``, ``symlink``, ``FIFO``, ``socket``, ``device``."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def refuse_unless_regular(mode: int, shown: str) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise BadRequest(f"{shown} is a folder")
    if stat.S_ISLNK(mode):
        raise PathEscape(f"{shown} became a symlink while it was being opened")
    raise NotRegular(f"{shown} is not a regular file (it is a {kind(mode)}); only regular files are read or written")


def open_regular(path: Path | str, shown: str, *, dir_fd: int | None = None) -> BinaryIO:
    """``path`` opened for reading, if it is a regular file (symlinks are not followed)."""
    refuse_unless_regular(os.stat(path, dir_fd=dir_fd, follow_symlinks=False).st_mode, shown)
    try:
        fd = os.open(path, _READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PathEscape(f"{shown} became a symlink while it was being opened") from None
        raise
    try:
        refuse_unless_regular(os.fstat(fd).st_mode, shown)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def refuse_hard_links(st: os.stat_result, shown: str) -> None:
    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        raise HardLinked(
            f"{shown} has {st.st_nlink} hard links, so it may be a file outside the workspace too; it is not "
            "written through (copy it to a new file and write that)"
        )


def write_atomic(path: Path, data: bytes, shown: str, *, must_exist: bool = False) -> None:
    """Replace (or create) the regular file ``path`` with ``data``, keeping its mode."""
    try:
        st: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        if must_exist:
            raise NotFound(f"no such file: {shown}") from None
        st = None
    mode = NEW_FILE_MODE
    if st is not None:
        refuse_unless_regular(st.st_mode, shown)
        refuse_hard_links(st, shown)
        mode = stat.S_IMODE(st.st_mode)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".threadline-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Make a rename or a new entry in ``folder`` durable (best effort: some file systems refuse)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
