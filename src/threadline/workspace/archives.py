"""Extracting an uploaded zip or tar archive into the workspace (``POST /api/workspace/upload``).

    ArchiveRefused(BadRequest)   not an archive, damaged or encrypted; a member that is a link, a device,
                                 an absolute name or leaves the folder; two members with one name; too
                                 many members
    PayloadTooLarge              a member or the whole over its limit, counted in bytes actually written

An archive goes into a new folder named after it (``name``, else ``name-1``...), inside the folder
asked for. Every folder and file is made relative to its parent's descriptor, ``O_NOFOLLOW`` and
``O_EXCL``, so nothing is written through a link, whatever appears meanwhile. Declared sizes are never
trusted: the bytes are counted as they are written (a zip bomb stops at the limit), and a compressed
tar is decompressed through a counting reader, so its headers cannot grow without bound either. On
any refusal the new folder is removed: all or nothing. Blocking: run it on the workspace pool.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from threadline.errors import BadRequest, PayloadTooLarge
from threadline.workspace.entries import check_name
from threadline.workspace.fileio import os_errors
from threadline.workspace.jail import MAX_PATH_BYTES, Jail, PathEscape
from threadline.workspace.pool import checkpoint
from threadline.workspace.writing import make_folder, upload_name

SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
CHUNK = 64 * 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DRIVE = re.compile(r"^[A-Za-z]:")
_DAMAGED = (tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, NotImplementedError,
            RuntimeError, ValueError)


class ArchiveRefused(BadRequest):
    pass


@dataclass(frozen=True, slots=True)
class Limits:
    total_bytes: int  # all members together, as extracted
    file_bytes: int  # one member
    members: int  # entries of every kind, folders included


def is_archive(name: str) -> bool:
    return name.lower().endswith(SUFFIXES)


def _stem(name: str) -> str:
    lowered = name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if lowered.endswith(suffix):
            return name[: -len(suffix)].strip(" .") or "archive"
    return name


def member_parts(name: str) -> list[str]:
    """The components of a member's name; ``ArchiveRefused`` for an absolute name, ``..``, a
    backslash or NUL, or a component that is not a valid name."""
    if "\x00" in name or "\\" in name:
        raise ArchiveRefused(f"archive member {name!r} has a backslash or NUL in its name")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        raise ArchiveRefused(f"archive member {name[:80]!r}... has a name longer than {MAX_PATH_BYTES} bytes")
    if name.startswith("/") or _DRIVE.match(name):
        raise ArchiveRefused(f"archive member {name!r} has an absolute name")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveRefused(f"archive member {name!r} leaves the archive's folder (..)")
    try:
        return [check_name(p) for p in parts]
    except PathEscape as exc:
        raise ArchiveRefused(f"archive member {name!r}: {exc.message}") from None


class _Writer:
    """Makes the folders and files of the archive under ``root_fd``, counting every byte."""

    def __init__(self, root_fd: int, limits: Limits) -> None:
        self.root_fd = root_fd
        self.limits = limits
        self.total = 0
        self.files: list[str] = []

    def folder(self, parts: list[str], shown: str) -> int:
        """A descriptor of the folder ``parts`` (made as needed, never through a link); the caller closes it."""
        fd = os.dup(self.root_fd)
        try:
            for part in parts:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    raise ArchiveRefused(
                        f"archive member {shown!r} needs {part!r} as a folder, but a file has that name") from None
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def file(self, parts: list[str], shown: str, source: IO[bytes]) -> None:
        parent = self.folder(parts[:-1], shown)
        try:
            try:
                fd = os.open(parts[-1], _NEW_FILE, 0o644, dir_fd=parent)
            except FileExistsError:
                raise ArchiveRefused(f"archive member {shown!r} appears twice (or as a file and a folder)") from None
            size = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    checkpoint()
                    size += len(chunk)
                    self.total += len(chunk)
                    if size > self.limits.file_bytes:
                        raise PayloadTooLarge(f"archive member {shown!r} is larger than {_mb(self.limits.file_bytes)}")
                    if self.total > self.limits.total_bytes:
                        raise PayloadTooLarge(f"the archive holds more than {_mb(self.limits.total_bytes)} of files")
                    out.write(chunk)
        finally:
            os.close(parent)
        self.files.append("/".join(parts))


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _refuse_special(mode: int, shown: str) -> None:
    if stat.S_ISLNK(mode):
        raise ArchiveRefused(f"archive member {shown!r} is a symbolic link; links are not extracted")
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ArchiveRefused(
            f"archive member {shown!r} is a device, FIFO or socket; only files and folders are extracted")


def _zip(source: IO[bytes], writer: _Writer) -> None:
    with zipfile.ZipFile(source) as archive:
        members = archive.infolist()
        if len(members) > writer.limits.members:
            raise ArchiveRefused(f"the archive has more than {writer.limits.members} members")
        for info in members:
            checkpoint()
            if info.create_system == 3:  # made on Unix: the high bits are the file's mode
                _refuse_special(info.external_attr >> 16, info.filename)
            parts = member_parts(info.filename)
            if info.is_dir() or not parts:
                if parts:
                    os.close(writer.folder(parts, info.filename))
                continue
            if info.flag_bits & 0x1:
                raise ArchiveRefused(f"archive member {info.filename!r} is encrypted")
            with archive.open(info) as member:
                writer.file(parts, info.filename, member)


class _Counted:
    """A decompressed stream that refuses to give more than ``limit`` bytes."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self.raw = raw
        self.limit = limit
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size >= 0 else self.limit + 1 - self.read_bytes)
        self.read_bytes += len(data)
        if self.read_bytes > self.limit:
            raise PayloadTooLarge(f"the archive decompresses to more than {_mb(self.limit)}")
        return data


def _decompressed(source: IO[bytes]) -> IO[bytes]:
    head = source.read(6)
    source.seek(0)
    opener: Callable[[Any], Any] | None = None
    if head.startswith(b"\x1f\x8b"):
        opener = lambda f: gzip.GzipFile(fileobj=f, mode="rb")  # noqa: E731
    elif head.startswith(b"BZh"):
        opener = bz2.BZ2File
    elif head.startswith(b"\xfd7zXZ\x00"):
        opener = lzma.LZMAFile
    return opener(source) if opener else source


def _tar(source: IO[bytes], writer: _Writer) -> None:
    limits = writer.limits
    # Room for every member's headers (a long name takes a few blocks) beyond the files themselves.
    stream = _Counted(_decompressed(source), limits.total_bytes + (limits.members + 1) * 4096)
    with tarfile.open(fileobj=stream, mode="r|") as archive:  # type: ignore[call-overload]
        for count, member in enumerate(archive, start=1):
            checkpoint()
            if count > limits.members:
                raise ArchiveRefused(f"the archive has more than {limits.members} members")
            if member.issym() or member.islnk():
                raise ArchiveRefused(f"archive member {member.name!r} is a link; links are not extracted")
            if member.isdev():
                raise ArchiveRefused(f"archive member {member.name!r} is a device or FIFO; only files and folders "
                                     "are extracted")
            parts = member_parts(member.name)
            if member.isdir() or not parts:
                if parts:
                    os.close(writer.folder(parts, member.name))
                continue
            if not member.isfile():
                raise ArchiveRefused(f"archive member {member.name!r} is not a file or a folder")
            data = archive.extractfile(member)
            if data is None:
                raise ArchiveRefused(f"archive member {member.name!r} cannot be read")
            writer.file(parts, member.name, data)


def extract(jail: Jail, folder_rel: str, filename: str | None, source: IO[bytes], limits: Limits) -> dict[str, Any]:
    """Extract the archive ``source`` (named ``filename``) into a new folder in ``folder_rel``; Hermes
    WebUI's answer ``{filename, path, size, is_image, extracted, extracted_files, extracted_count}``,
    ``path`` absolute, ``extracted_files`` relative to the workspace."""
    name = upload_name(filename)
    if not is_archive(name):
        raise ArchiveRefused(f"not a zip or tar archive: {name}")
    folder = make_folder(jail, folder_rel)
    stem = _stem(name)
    with os_errors():
        for attempt in range(1000):
            dest = folder / (stem if attempt == 0 else f"{stem}-{attempt}")
            try:
                os.mkdir(dest, 0o755)
            except FileExistsError:
                continue
            break
        else:
            raise ArchiveRefused(f"too many folders named like {stem}")
    size = source.seek(0, os.SEEK_END)
    source.seek(0)
    try:
        root_fd = os.open(dest, _DIR_FLAGS)
        try:
            writer = _Writer(root_fd, limits)
            try:
                (_zip if name.lower().endswith(".zip") else _tar)(source, writer)
            except (ArchiveRefused, PayloadTooLarge):
                raise
            except _DAMAGED as exc:
                raise ArchiveRefused(f"{name} is not a valid archive or is damaged ({type(exc).__name__})") from None
        finally:
            os.close(root_fd)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    shown = jail.relative(dest)
    files = [f"{shown}/{f}" if shown != "." else f for f in writer.files]
    return {"ok": True, "filename": name, "path": str(dest), "size": size, "is_image": False, "extracted": True,
            "extracted_files": files, "extracted_count": len(files)}

