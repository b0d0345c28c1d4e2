"""Listing workspace folders: the file API's one folder (``list_dir``) and the tools' tree (``tree``).

Names are shown with ``readable`` (never a lone surrogate); an entry whose name is not UTF-8 is
flagged ``undecodable``, and the path shown still opens it (``Jail.resolve``). Recursive walks skip
symlinked folders and the usual heavy folders (``SKIPPED_DIRS``), and stop at a cancel
(``pool.checkpoint``). Blocking: run these on the workspace pool.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadline.errors import BadRequest, ThreadlineError
from threadline.workspace.fileio import kind, os_errors
from threadline.workspace.jail import Jail, is_readable, readable
from threadline.workspace.pool import checkpoint

MAX_LIST_ENTRIES = 500
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache",
                          ".pytest_cache", ".ruff_cache", ".tox"})


def folder_of(jail: Jail, rel: str) -> Path:
    folder = jail.resolve(rel or ".", must_exist=True)
    if not folder.is_dir():
        raise BadRequest(f"not a folder: {jail.relative(folder)}")
    return folder


def _type(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "special"


def _row(jail: Jail, folder: Path, name: str, st: os.stat_result) -> dict[str, Any]:
    path = folder / name
    row: dict[str, Any] = {"name": readable(name), "path": jail.relative(path), "type": _type(st.st_mode)}
    if not is_readable(name):
        row["undecodable"] = True
    if row["type"] == "symlink":
        try:
            target = jail.resolve(os.path.relpath(path, jail.root))
            row["target"] = jail.relative(target)
            row["is_dir"] = target.is_dir()
            row["size"] = target.stat().st_size if target.is_file() else None
        except (ThreadlineError, OSError):
            row.update(is_dir=False, size=None, broken=True)  # outside, looping or dangling
    else:
        row["is_dir"] = row["type"] == "dir"
        row["size"] = st.st_size if row["type"] == "file" else None
        if row["type"] == "special":
            row["special"] = kind(st.st_mode)
    row["modified"] = st.st_mtime
    return row


def list_dir(jail: Jail, rel: str) -> dict[str, Any]:
    """One folder for the file API: folders first, then by name; at most ``MAX_LIST_ENTRIES``."""
    folder = folder_of(jail, rel)
    rows: list[dict[str, Any]] = []
    with os_errors(), os.scandir(folder) as it:
        for item in it:
            checkpoint()
            try:
                st = item.stat(follow_symlinks=False)
            except OSError:
                continue
            rows.append(_row(jail, folder, item.name, st))
    rows.sort(key=lambda r: (not r["is_dir"], r["name"].casefold(), r["name"]))
    return {"path": jail.relative(folder), "entries": rows[:MAX_LIST_ENTRIES], "total": len(rows),
            "truncated": len(rows) > MAX_LIST_ENTRIES}


def walk(top: Path) -> Iterator[tuple[Path, list[str], list[str], int]]:
    """``os.fwalk`` from ``top``: symlinks never followed, ``SKIPPED_DIRS`` pruned, names sorted;
    yields ``(folder, dirnames, filenames, folder_fd)`` and checks for a cancel at every folder."""
    for dirpath, dirnames, filenames, dir_fd in os.fwalk(top, follow_symlinks=False):
        checkpoint()
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        filenames.sort()
        yield Path(dirpath), dirnames, filenames, dir_fd


@dataclass(frozen=True, slots=True)
class Tree:
    folder: str
    entries: list[str]  # folders end with "/"
    total: int


def tree(jail: Jail, rel: str, *, recursive: bool, limit: int) -> Tree:
    """The paths under a folder (its whole tree with ``recursive``), sorted, the first ``limit``."""
    folder = folder_of(jail, rel)
    entries: list[str] = []
    with os_errors():
        if recursive:
            for dirpath, dirnames, filenames, _ in walk(folder):
                entries += [jail.relative(dirpath / name) + "/" for name in dirnames]
                entries += [jail.relative(dirpath / name) for name in filenames]
            entries.sort()
        else:
            with os.scandir(folder) as it:
                for item in sorted(it, key=lambda e: e.name):
                    checkpoint()
                    entries.append(jail.relative(folder / item.name) + ("/" if item.is_dir() else ""))
    return Tree(jail.relative(folder), entries[:limit], len(entries))
