"""``threadline import skills DIR``, and what ``threadline import hermes DIR`` imports when ``DIR`` is a
Hermes home (``~/.hermes``): ``memories/`` (MEMORY.md, USER.md), ``skills/`` and ``cron/jobs.json``,
each once (a second import adds nothing); the WebUI's sessions beside them are imported by
``imports.py``.

Exit codes: 0 when nothing failed, 1 when something could not be imported (the rest is), 2 when the
directory itself cannot be used.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadline.cli.options import add_home, settings_from
from threadline.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

    from threadline.services import Services

PARTS = ("memories", "skills", "cron/jobs.json")


def add_sources(sources: Any) -> None:
    skills = sources.add_parser("skills", help="import a folder of skills (Agent Skills: <name>/SKILL.md), "
                                               "e.g. ~/.hermes/skills or ~/.claude/skills")
    skills.add_argument("directory", help="a folder of skills (with categories), or one skill's folder")
    skills.add_argument("--overwrite", action="store_true", help="replace the skills that have the same name")
    add_home(skills)
    skills.set_defaults(func=run_skills)


def is_agent_home(directory: Path) -> bool:
    """A Hermes home: it has ``memories/``, ``skills/`` or ``cron/jobs.json``."""
    return any((directory / part).exists() for part in PARTS)


def sessions_of(home: Path) -> Path | None:
    sessions = home / "webui" / "sessions"
    return sessions if sessions.is_dir() else None


def run_skills(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(highlight=False)
    directory = Path(args.directory).expanduser()
    if not directory.is_dir():
        console.print(f"[red]not a directory:[/red] {directory}")
        return 2
    return asyncio.run(_with_services(settings_from(args), lambda s: _skills(s, directory, args.overwrite, console)))


def import_agent_home(settings: Settings, home: Path) -> int:
    """Import a Hermes home's memories, skills and scheduled jobs; print what happened."""
    from rich.console import Console

    console = Console(highlight=False)
    return asyncio.run(_with_services(settings, lambda s: _agent_home(s, home, console)))


async def _with_services(settings: Settings, work: Any) -> int:
    from threadline.services import Services

    services = await Services.open(settings)
    try:
        code: int = await work(services)
        return code
    finally:
        await services.close()


async def _skills(services: Services, directory: Path, overwrite: bool, console: Console) -> int:
    report = await services.skills.import_from(directory, overwrite=overwrite)
    console.print(f"[bold]Skills:[/bold] {len(report.imported)} imported into {services.skills.root}")
    for name, reason in report.skipped:
        console.print(f"  skipped {name}: {reason}")
    for path, error in report.failed:
        console.print(f"  [red]failed[/red] {path}: {error}")
    return 1 if report.failed else 0


async def _agent_home(services: Services, home: Path, console: Console) -> int:
    from threadline.memory.imports import import_memory_files
    from threadline.schedules.imports import import_jobs

    failed = 0
    if (home / "memories").is_dir():
        memory = await import_memory_files(services.memory, home / "memories")
        added = ", ".join(f"{n} {section}" for section, n in memory.added.items()) or "nothing"
        console.print(f"[bold]Memory:[/bold] entries added: {added}")
        for name, error in memory.failed:
            console.print(f"  [red]failed[/red] {name}: {error}")
        failed += len(memory.failed)
    if (home / "skills").is_dir():
        failed += await _skills(services, home / "skills", False, console)
    if (home / "cron" / "jobs.json").is_file():
        jobs = await import_jobs(services.tasks, home / "cron" / "jobs.json")
        console.print(f"[bold]Scheduled tasks:[/bold] {len(jobs.imported)} imported")
        for name, reason in jobs.skipped:
            console.print(f"  skipped {name}: {reason}")
        for note in jobs.notes:
            console.print(f"  note: {note}")
        for name, error in jobs.failed:
            console.print(f"  [red]failed[/red] {name}: {error}")
        failed += len(jobs.failed)
    return 1 if failed else 0
