"""The workspace jail: every path a tool or the file API touches is resolved here first.

    PathEscape(BadRequest, ValueError)        the path would leave the workspace, or is malformed
    PathMissing(NotFound, FileNotFoundError)  ``must_exist=True`` and nothing is there

A path is refused when it holds a NUL byte, a backslash, a percent escape of ``.``, ``/``, ``\\``,
NUL or ``%`` (so double encoding too), a component over 255 bytes or a total over 4096 bytes, or
when its real location (symlinks followed, dangling ones included) is outside the root. Symlink
loops are refused. What the jail cannot promise (a symlink swapped in between this check and the
open, hard links, mounts) is written down in docs/api.md, "Workspace files".

Names that are not UTF-8 reach Python with their bytes as lone surrogates (``surrogateescape``),
which no JSON encoder accepts: ``readable`` shows them with U+FFFD, and ``resolve`` maps such a
readable name back to the one entry of its folder that it stands for.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
from pathlib import Path

from threadline.errors import BadRequest, NotFound

MAX_COMPONENT_BYTES = 255
MAX_PATH_BYTES = 4096
REPLACEMENT = "\ufffd"
_DANGEROUS_ESCAPE = re.compile(r"%(2e|2f|5c|00|25)", re.IGNORECASE)
_SURROGATE = re.compile("[\ud800-\udfff]")


class PathEscape(BadRequest, ValueError):
    pass


class PathMissing(NotFound, FileNotFoundError):
    pass


def readable(text: str) -> str:
    """``text`` safe for JSON and UTF-8: each byte of a name that is not UTF-8 becomes U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte (e.g. from JSON "\ud800")
        return _SURROGATE.sub(REPLACEMENT, text)


def os_bytes(text: str) -> bytes:
    """The bytes the file system sees for ``text``; ``PathEscape`` for a lone surrogate that is not
    an escaped byte (such as ``"\ud800"`` from JSON)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise PathEscape("a path cannot contain a lone surrogate (not a character)") from None


def is_readable(text: str) -> bool:
    return readable(text) == text


class Jail:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(os.path.realpath(root))

    def resolve(self, rel: str, *, must_exist: bool = False) -> Path:
        """The real path of ``rel`` (relative to the root, or absolute inside it)."""
        if not isinstance(rel, str):
            raise PathEscape(f"path must be a string, not {type(rel).__name__}")
        self._check_text(rel)
        if REPLACEMENT in rel:
            rel = self._unreplace(rel)
        joined = os.path.join(self.root, rel or ".")
        if not rel.startswith("/") and posixpath.normpath(rel or ".").split("/")[0] == "..":
            raise PathEscape(f"path {readable(rel)!r} leaves the workspace")
        real = self._realpath(joined, rel)
        if not real.is_relative_to(self.root):
            raise PathEscape(f"path {readable(rel)!r} resolves outside the workspace")
        if must_exist and not os.path.lexists(real):
            raise PathMissing(f"no such file or directory: {self.relative(real)}")
        return real

    def relative(self, path: Path | str) -> str:
        """``path`` for display and for the next request: relative to the root, POSIX separators,
        ``.`` for the root itself, always valid UTF-8 (see ``readable``)."""
        rel = Path(path).relative_to(self.root)
        return readable(rel.as_posix()) if rel.parts else "."

    def contains(self, rel: str) -> bool:
        try:
            self.resolve(rel)
        except PathEscape:
            return False
        return True

    def name_in(self, folder: Path | str, name: str) -> str:
        """``name`` as stored in ``folder``: a shown name (U+FFFD for bytes that are not UTF-8) that
        names nothing becomes the one entry it stands for; unchanged when none or several match."""
        if REPLACEMENT not in name or os.path.lexists(os.path.join(folder, name)):
            return name
        if not Path(os.path.realpath(folder)).is_relative_to(self.root):
            return name
        try:
            with os.scandir(folder) as it:
                found = [entry.name for entry in it if not is_readable(entry.name) and readable(entry.name) == name]
        except OSError:
            return name
        return found[0] if len(found) == 1 else name

    def _unreplace(self, rel: str) -> str:
        current = str(self.root) if not rel.startswith("/") else "/"
        parts: list[str] = []
        for part in rel.split("/"):
            part = self.name_in(current, part)
            parts.append(part)
            current = os.path.join(current, part)
        return "/".join(parts)

    @staticmethod
    def _check_text(rel: str) -> None:
        if "\x00" in rel:
            raise PathEscape("path contains a NUL byte")
        if "\\" in rel:
            raise PathEscape(f"backslashes are not allowed in paths: {readable(rel)!r}")
        if _DANGEROUS_ESCAPE.search(rel):
            raise PathEscape(f"percent-encoded '.', '/', '\\', '%' or NUL are not allowed in paths: {readable(rel)!r}")
        encoded = os_bytes(rel)
        if len(encoded) > MAX_PATH_BYTES:
            raise PathEscape(f"path is longer than {MAX_PATH_BYTES} bytes")
        if any(len(part) > MAX_COMPONENT_BYTES for part in encoded.split(b"/")):
            raise PathEscape(f"a path component is longer than {MAX_COMPONENT_BYTES} bytes")

    def _realpath(self, joined: str, rel: str) -> Path:
        shown = readable(rel)
        try:
            return Path(os.path.realpath(joined, strict=True))
        except (FileNotFoundError, NotADirectoryError):
            pass  # a path to create: the non-strict form still follows every existing symlink
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PathEscape(f"path {shown!r} runs into a symlink loop") from exc
            raise PathEscape(f"path {shown!r} cannot be resolved: {exc.strerror}") from exc
        except RuntimeError as exc:
            raise PathEscape(f"path {shown!r} runs into a symlink loop") from exc
        real = os.path.realpath(joined)
        # Non-strict realpath leaves a loop in place instead of raising: look for one.
        try:
            os.stat(real)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PathEscape(f"path {shown!r} runs into a symlink loop") from exc
        return Path(real)
