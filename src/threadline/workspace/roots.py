"""Which directories may be a session's workspace (the trusted roots, and never a system folder), and
which may be saved in the workspace list (``check_saved``); folder suggestions for the add dialog.
Blocking (``resolve``, ``mkdir``, ``scandir``): run these on the workspace pool.
"""

from __future__ import annotations

import os
from pathlib import Path

from threadline.errors import BadRequest

SYSTEM_ROOTS = tuple(
    Path(p)
    for p in ("/", "/etc", "/usr", "/var", "/bin", "/sbin", "/boot", "/proc", "/sys", "/dev", "/lib",
              "/lib64", "/opt/homebrew", "/System", "/Library")
)
MAX_SUGGESTIONS = 20


def check_workspace(raw: str | Path, roots: list[Path], *, state_dir: Path | None = None) -> Path:
    """Resolve ``raw`` and accept it only if it is an existing directory under an allowed root, not a
    system directory, and not ``state_dir`` (Threadline's own: its database and keys) nor a folder
    that holds it, so that no agent or file request reaches them through a workspace. Raises
    ``BadRequest`` with the reason otherwise."""
    text = str(raw)
    if not text or "\x00" in text or len(text) > 4096:
        raise BadRequest("workspace must be a non-empty path")
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise BadRequest("workspace must be an absolute path")
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise BadRequest(f"workspace does not exist: {text}") from None
    if not resolved.is_dir():
        raise BadRequest(f"workspace is not a directory: {text}")
    for system in SYSTEM_ROOTS:
        if resolved == system or (system != Path("/") and resolved.is_relative_to(system)):
            if not any(resolved.is_relative_to(r) and r != Path("/") for r in roots):
                raise BadRequest(f"workspace is a system directory: {text}")
    if not any(resolved.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise BadRequest(f"workspace is outside the allowed roots ({allowed}): {text}")
    if state_dir is not None and state_dir.resolve().is_relative_to(resolved):
        raise BadRequest(f"workspace holds Threadline's state directory (its database and keys): {text}")
    return resolved


def _absolute(raw: str) -> Path:
    if not raw or "\x00" in raw or len(raw) > 4096:
        raise BadRequest("path must be a non-empty absolute path")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise BadRequest(f"path must be absolute: {raw}")
    return Path(os.path.normpath(path))


def _refuse_reserved(resolved: Path, shown: str, *, state_dir: Path, default: Path) -> None:
    """The folders that are never saved as a workspace, wherever the roots are: every system
    folder and its contents, the home folder itself (``~``, as a whole it holds keys and profiles),
    and Threadline's state directory with everything in it but the default workspace."""
    for system in SYSTEM_ROOTS:
        if resolved == system or (system != Path("/") and resolved.is_relative_to(system)):
            raise BadRequest(f"a system folder cannot be a workspace: {shown}")
    if resolved == Path.home().resolve():
        raise BadRequest(f"the home folder itself cannot be a workspace (choose a folder inside it): {shown}")
    if resolved.is_relative_to(state_dir) and not resolved.is_relative_to(default):
        raise BadRequest(f"Threadline's state directory cannot be a workspace (only {default} inside it): {shown}")


def check_saved(raw: str, roots: list[Path], *, state_dir: Path, default: Path, create: bool = False) -> Path:
    """The real path of a folder to save in the workspace list: ``check_workspace``'s rules plus the
    reserved folders (``_refuse_reserved``). ``create`` makes a missing folder (and its parents) first,
    after checking the nearest existing folder above it is allowed."""
    path = _absolute(raw)
    if create and not os.path.lexists(path):
        existing = path
        while not os.path.lexists(existing):
            existing = existing.parent
        above = Path(os.path.realpath(existing)) / path.relative_to(existing)
        _refuse_reserved(above, raw, state_dir=state_dir, default=default)
        if not any(above.is_relative_to(root) for root in roots):
            raise BadRequest(f"workspace is outside the allowed roots: {raw}")
        try:
            above.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadRequest(f"the folder cannot be created: {exc.strerror}") from None
    resolved = check_workspace(path, roots, state_dir=state_dir)
    _refuse_reserved(resolved, raw, state_dir=state_dir, default=default)
    return resolved


def suggest(prefix: str, roots: list[Path]) -> list[str]:
    """Folders whose path starts with ``prefix`` (absolute, ``~`` allowed): the subfolders of its
    folder part whose name starts with its last part, inside the allowed roots, hidden ones only when
    the last part starts with a dot; at most ``MAX_SUGGESTIONS``, sorted. An empty prefix lists the
    roots themselves."""
    if not prefix:
        return sorted(str(r) for r in roots)[:MAX_SUGGESTIONS]
    if "\x00" in prefix or len(prefix) > 4096:
        return []
    expanded = os.path.expanduser(prefix)
    if not expanded.startswith("/"):
        return []
    folder, _, start = expanded.rpartition("/")
    base = Path(os.path.realpath(folder or "/"))
    found: list[str] = []
    try:
        with os.scandir(base) as entries:
            for entry in entries:
                if not entry.name.startswith(start) or (entry.name.startswith(".") and not start.startswith(".")):
                    continue
                if not entry.is_dir(follow_symlinks=True):
                    continue
                real = Path(os.path.realpath(entry.path))
                if any(real.is_relative_to(root) for root in roots) or any(root.is_relative_to(real) for root in roots):
                    found.append(os.path.join(folder or "/", entry.name) if folder else "/" + entry.name)
    except OSError:
        return []
    return sorted(found)[:MAX_SUGGESTIONS]
