"""Copy skill folders in: every folder holding a SKILL.md under a source tree (Hermes' ``skills/``,
``~/.claude/skills``, an uploaded folder), with its category when it sits in one.

A skill is copied only when its SKILL.md is valid; symlinks, hidden files and oversized files are
left out, so an imported tree can never bring in something from outside it. A name already taken is
skipped unless ``overwrite``. Blocking: run it in a worker thread.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from threadline.errors import BadRequest
from threadline.skills.documents import SKILL_FILE, check_name, parse_skill

MAX_DEPTH = 4
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_SKILL_BYTES = 50 * 1024 * 1024
SKIPPED_DIRS = frozenset({".git", "__pycache__", "node_modules", ".venv", ".hub"})


@dataclass
class SkillImport:
    imported: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def public(self) -> dict[str, object]:
        return {"imported": self.imported,
                "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
                "failed": [{"path": p, "error": e} for p, e in self.failed]}


def find_skills(source: Path) -> list[tuple[Path, str | None]]:
    """(skill folder, category) for every SKILL.md under ``source``; a skill's category is the folder
    holding it, unless that is ``source`` itself. A skill's own subfolders are not searched."""
    if (source / SKILL_FILE).is_file():
        return [(source, None)]
    found: list[tuple[Path, str | None]] = []
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        here = Path(dirpath)
        depth = len(here.relative_to(source).parts)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and not d.startswith("."))
        if SKILL_FILE in filenames and here != source:
            found.append((here, here.parent.name if here.parent != source else None))
            dirnames[:] = []
        elif depth >= MAX_DEPTH:
            dirnames[:] = []
    return found


def _copy_tree(source: Path, target: Path) -> None:
    total = 0
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if d not in SKIPPED_DIRS and not d.startswith(".")
                       and not (here / d).is_symlink()]
        (target / here.relative_to(source)).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            path = here / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                continue
            total += size
            if total > MAX_SKILL_BYTES:
                raise BadRequest(f"the skill is larger than {MAX_SKILL_BYTES // (1024 * 1024)} MB")
            shutil.copyfile(path, target / path.relative_to(source))


def import_tree(root: Path, source: Path, taken: dict[str, Path], *, overwrite: bool = False) -> SkillImport:
    """Copy every skill under ``source`` into the skills directory ``root``. ``taken`` maps the names
    already there to their folders."""
    report = SkillImport()
    if not source.is_dir():
        raise BadRequest(f"not a folder: {source}")
    for folder, category in find_skills(source):
        shown = folder.relative_to(source).as_posix() if folder != source else folder.name
        try:
            doc = parse_skill((folder / SKILL_FILE).read_text(encoding="utf-8", errors="replace"))
            name = doc.name or check_name(folder.name)
            cat = check_name(category, "category") if category else None
        except BadRequest as exc:
            report.failed.append((shown, exc.message))
            continue
        if name in taken and not overwrite:
            report.skipped.append((name, "a skill with this name exists"))
            continue
        try:
            _install(root, folder, name, cat, taken.get(name))
        except (BadRequest, OSError) as exc:
            report.failed.append((shown, exc.message if isinstance(exc, BadRequest) else str(exc)))
            continue
        taken[name] = (root / cat / name) if cat else root / name
        report.imported.append(name)
    return report


def _install(root: Path, source: Path, name: str, category: str | None, existing: Path | None) -> None:
    """Copy into a temporary folder beside the target, then swap it in."""
    target = (root / category / name) if category else root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".import-{name}-"))
    try:
        _copy_tree(source, staging)
        if existing is not None and existing.exists():
            shutil.rmtree(existing)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
