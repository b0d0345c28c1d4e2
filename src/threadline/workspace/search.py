"""Searching workspace text files for a regular expression (the ``search_files`` tool).

Walks like ``listing.walk`` and opens each file relative to its folder's descriptor without following
symlinks, so nothing outside the workspace is read even if a folder is swapped for a symlink
mid-walk. Symlinks, binary files and files over 2 MB are skipped; FIFOs, sockets and devices are
skipped and counted. A cancel stops the search within one line. Blocking: run it on the pool.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field

from threadline.errors import BadRequest
from threadline.workspace.fileio import open_regular, os_errors
from threadline.workspace.jail import Jail
from threadline.workspace.listing import walk
from threadline.workspace.pool import checkpoint
from threadline.workspace.reading import SNIFF_BYTES, is_binary

SEARCH_FILE_CAP = 2 * 1024 * 1024
MAX_SEARCH_MATCHES = 200
MAX_LINE_CHARS = 300


@dataclass
class Found:
    matches: list[str] = field(default_factory=list)  # "path:line: text"
    more: bool = False  # stopped at MAX_SEARCH_MATCHES
    not_regular: list[str] = field(default_factory=list)  # FIFOs, sockets, devices passed over


def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise BadRequest(f"invalid regular expression: {exc}") from None


def search(jail: Jail, rel: str, regex: re.Pattern[str], glob: str | None = None) -> Found:
    """Lines matching ``regex`` in the file ``rel`` or in the files under the folder ``rel``."""
    top = jail.resolve(rel or ".", must_exist=True)
    found = Found()
    with os_errors():
        if not top.is_dir():
            with open_regular(top, jail.relative(top)) as handle:
                _scan(handle.read(SEARCH_FILE_CAP + 1), jail.relative(top), regex, found)
            return found
        for folder, _, names, dir_fd in walk(top):
            for name in names:
                checkpoint()
                shown = jail.relative(folder / name)
                if glob and not (fnmatch.fnmatch(name, glob) or fnmatch.fnmatch(shown, glob)):
                    continue
                data = _read(name, dir_fd, shown, found)
                if data is not None and _scan(data, shown, regex, found):
                    return found
    return found


def _read(name: str, dir_fd: int, shown: str, found: Found) -> bytes | None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode) or st.st_size > SEARCH_FILE_CAP:
            return None
        if not stat.S_ISREG(st.st_mode):
            found.not_regular.append(shown)
            return None
        with open_regular(name, shown, dir_fd=dir_fd) as handle:
            return handle.read(SEARCH_FILE_CAP + 1)
    except (OSError, BadRequest):
        return None  # vanished, unreadable, or swapped for something else meanwhile


def _scan(data: bytes, shown: str, regex: re.Pattern[str], found: Found) -> bool:
    """Add the matching lines of one file; True once ``MAX_SEARCH_MATCHES`` is passed."""
    if len(data) > SEARCH_FILE_CAP or is_binary(data[:SNIFF_BYTES]):
        return False
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        checkpoint()
        if regex.search(line):
            if len(found.matches) >= MAX_SEARCH_MATCHES:
                found.more = True
                return True
            found.matches.append(f"{shown}:{number}: {line[:MAX_LINE_CHARS]}")
    return False


def describe(found: Found) -> str:
    """The tool's answer: the matches, then notes on what was left out."""
    lines = list(found.matches) or ["no matches"]
    if found.more:
        lines.append(f"[stopped after {MAX_SEARCH_MATCHES} matches; narrow the pattern or the path]")
    if found.not_regular:
        names = ", ".join(found.not_regular[:5]) + (", ..." if len(found.not_regular) > 5 else "")
        lines.append(f"[not searched, not regular files (FIFOs, sockets, devices): {names}]")
    return "\n".join(lines)

