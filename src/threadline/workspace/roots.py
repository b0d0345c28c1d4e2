"""Which directories may be a session's workspace (the trusted roots, and never a system folder)."""

from __future__ import annotations

from pathlib import Path

from threadline.errors import BadRequest

SYSTEM_ROOTS = tuple(
    Path(p)
    for p in ("/", "/etc", "/usr", "/var", "/bin", "/sbin", "/boot", "/proc", "/sys", "/dev", "/lib",
              "/lib64", "/opt/homebrew", "/System", "/Library")
)


def check_workspace(raw: str | Path, roots: list[Path]) -> Path:
    """Resolve ``raw`` and accept it only if it is an existing directory under an allowed root and
    not a system directory. Raises ``BadRequest`` with the reason otherwise."""
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
    return resolved
