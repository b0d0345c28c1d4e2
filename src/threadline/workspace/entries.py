"""Renaming and deleting workspace entries: these act on the entry itself (a symlink is renamed or
removed, never its target), so the last component of the path is not followed.
Blocking: run these on the workspace pool.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

from threadline.errors import AlreadyExists, Conflict, NotFound
from threadline.workspace.fileio import os_errors
from threadline.workspace.jail import MAX_COMPONENT_BYTES, Jail, PathEscape, os_bytes


def check_name(name: object) -> str:
    """A single path component: no separators, NUL, '.' or '..'."""
    if not isinstance(name, str) or not name or name in (".", ".."):
        raise PathEscape("a name must be a non-empty string other than '.' and '..'")
    if "/" in name or "\\" in name or "\x00" in name:
        raise PathEscape("a name cannot contain '/', '\\' or NUL")
    if len(os_bytes(name)) > MAX_COMPONENT_BYTES:
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
    path = parent / jail.name_in(parent, check_name(name))
    if not os.path.lexists(path):
        raise NotFound(f"no such file or directory: {jail.relative(path)}")
    if not path.is_symlink():
        jail.resolve(rel)  # every check on the whole text (a symlink may point anywhere: it is not followed)
    return path


def rename(jail: Jail, rel: str, new_name: str) -> dict[str, Any]:
    source = entry(jail, rel)
    target = source.parent / check_name(new_name)
    if os.path.lexists(target):
        raise AlreadyExists(f"{jail.relative(target)} already exists")
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
