"""Reading workspace files: one rule for what counts as text, used by the file API and the agent's tools.

A file is read only if it is a regular file (``open_regular``); it is binary when its first 8 KB
hold a NUL byte. The editor (``read_text``) and ``edit_file`` take whole UTF-8 files up to 1 MB;
``read_file`` (``read_lines``) reads a range of lines, at most 256 KB per call, decoding what is not
UTF-8 with U+FFFD. Blocking: run these on the workspace pool.
"""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from typing import Any, BinaryIO

from threadline.errors import BadRequest, PayloadTooLarge
from threadline.workspace.fileio import Unsupported, open_regular, os_errors
from threadline.workspace.jail import Jail
from threadline.workspace.pool import checkpoint

MAX_TEXT_BYTES = 1024 * 1024
READ_CAP = 256 * 1024
SNIFF_BYTES = 8192
# Served as an attachment unless ``inline=1`` (and then sandboxed without scripts): active content.
ACTIVE_TYPES = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
                          "application/xslt+xml", "text/xsl"})
# Never served as something a page could execute or apply: scripts and styles come back as text.
AS_TEXT_TYPES = frozenset({"text/javascript", "application/javascript", "application/x-javascript", "text/css",
                           "application/wasm", "application/json", "text/x-python", "application/x-sh"})


def is_binary(sample: bytes) -> bool:
    return b"\x00" in sample[:SNIFF_BYTES]


@dataclass(frozen=True, slots=True)
class Text:
    path: str
    content: str
    size: int
    modified: float

    def public(self) -> dict[str, Any]:
        return {"path": self.path, "content": self.content, "size": self.size,
                "lines": self.content.count("\n") + 1, "modified": self.modified}


def read_text(jail: Jail, rel: str) -> Text:
    """A whole UTF-8 text file: 413 over ``MAX_TEXT_BYTES``, 415 if binary or not UTF-8."""
    path = jail.resolve(rel, must_exist=True)
    shown = jail.relative(path)
    with os_errors(), open_regular(path, shown) as handle:
        st = os.fstat(handle.fileno())
        if st.st_size > MAX_TEXT_BYTES:
            raise PayloadTooLarge(f"{shown} is larger than {MAX_TEXT_BYTES // 1024} KB; download it instead",
                                  size=st.st_size)
        data = handle.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        raise PayloadTooLarge(f"{shown} is larger than {MAX_TEXT_BYTES // 1024} KB; download it instead",
                              size=len(data))
    if is_binary(data):
        raise Unsupported(f"{shown} is a binary file; download it instead", binary=True, size=st.st_size)
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unsupported(f"{shown} is not UTF-8 text; download it instead", binary=True, size=st.st_size) from None
    return Text(shown, content, len(data), st.st_mtime)


@dataclass(frozen=True, slots=True)
class Lines:
    path: str
    text: str
    last_line: int  # the number of the last line looked at
    truncated: bool  # stopped at the cap before ``end``


def read_lines(jail: Jail, rel: str, start: int = 1, end: int | None = None, cap: int = READ_CAP) -> Lines:
    """Lines ``start`` to ``end`` (1-based, inclusive) of a text file, at most ``cap`` bytes."""
    if start < 1 or (end is not None and end < start):
        raise BadRequest("start_line must be >= 1 and end_line >= start_line")
    path = jail.resolve(rel, must_exist=True)
    shown = jail.relative(path)
    out = bytearray()
    line_no, truncated = 0, False
    with os_errors(), open_regular(path, shown) as handle:
        if is_binary(handle.read(SNIFF_BYTES)):
            raise Unsupported(f"{shown} looks like a binary file; not read", binary=True)
        handle.seek(0)
        for line_no, line in enumerate(handle, start=1):
            checkpoint()
            if line_no < start:
                continue
            if end is not None and line_no > end:
                break
            if len(out) + len(line) > cap:
                truncated = True
                break
            out += line
    return Lines(shown, out.decode("utf-8", "replace"), line_no, truncated)


@dataclass(frozen=True, slots=True)
class RawFile:
    handle: BinaryIO  # open, checked to be a regular file; the caller closes it
    stat: os.stat_result
    media_type: str
    name: str


def open_raw(jail: Jail, rel: str) -> RawFile:
    """A file opened for a download, with the media type it may be served as."""
    path = jail.resolve(rel, must_exist=True)
    with os_errors():
        handle = open_regular(path, jail.relative(path))
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media in AS_TEXT_TYPES or (media.startswith("text/") and media not in ACTIVE_TYPES):
        media = "text/plain"
    return RawFile(handle, os.fstat(handle.fileno()), media, jail.relative(path).rpartition("/")[2])
