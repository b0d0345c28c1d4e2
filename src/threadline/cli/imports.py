"""``threadline import hermes DIR``: import a Hermes WebUI ``sessions/`` directory
(``sessions/hermes_import.py`` does the import), with progress on stderr and a summary on stdout. When
``DIR`` is a Hermes home (``~/.hermes``), its memories, skills and scheduled jobs come in too
(``agent_home.py``, which also gives ``threadline import skills DIR``), then its ``webui/sessions/``.

Exit codes: 0 when nothing failed, 1 when at least one file failed (the others are imported), 2 when the
directory itself cannot be used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadline.cli import agent_home
from threadline.cli.options import add_home, settings_from
from threadline.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

    from threadline.sessions.hermes_import import ImportReport


def add_parser(commands: Any) -> None:
    importer = commands.add_parser("import", help="import sessions, memory, skills and tasks from another system")
    sources = importer.add_subparsers(dest="source", required=True)
    hermes = sources.add_parser("hermes", help="import a Hermes home (~/.hermes: memories, skills, scheduled "
                                               "jobs, WebUI sessions) or a Hermes WebUI sessions/ directory")
    hermes.add_argument("directory", help="a Hermes home, or a sessions/ directory (projects.json beside it is "
                                          "read too)")
    hermes.add_argument("--batch", type=int, help="sessions written per transaction (default 200)")
    add_home(hermes)
    hermes.set_defaults(func=run)
    agent_home.add_sources(sources)


def run(args: argparse.Namespace) -> int:
    settings, directory = settings_from(args), Path(args.directory).expanduser()
    if not agent_home.is_agent_home(directory):
        return import_hermes(settings, directory, batch_size=args.batch)
    code = agent_home.import_agent_home(settings, directory)
    sessions = agent_home.sessions_of(directory)
    if sessions is not None:
        code = max(code, import_hermes(settings, sessions, batch_size=args.batch))
    return code


def import_hermes(settings: Settings, directory: Path, *, batch_size: int | None = None) -> int:
    """Import ``directory``, show progress, print a summary; returns the exit code."""
    from rich.console import Console

    console = Console(highlight=False)
    directory = directory.expanduser()
    if not directory.is_dir():
        console.print(f"[red]not a directory:[/red] {directory}")
        return 2
    report = asyncio.run(_import(settings, directory, batch_size, Console(stderr=True)))
    print_report(report, console)
    return report.exit_code


async def _import(
    settings: Settings, directory: Path, batch_size: int | None, progress_console: Console
) -> ImportReport:
    from threadline.cli.progress import CountProgress
    from threadline.sessions.drafts import MemoryDrafts
    from threadline.sessions.hermes_import import DEFAULT_BATCH, HermesImporter
    from threadline.sessions.projects import ProjectService
    from threadline.sessions.service import SessionService
    from threadline.store.engine import Store

    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.resolved_database_url)
    try:
        await store.migrate()
        drafts = MemoryDrafts(ttl_seconds=settings.draft_ttl_seconds, cap=settings.draft_cap)  # unused: no drafts
        sessions = SessionService(store, drafts, settings)
        with frozen_heap(), CountProgress(progress_console, label="Importing", unit="sessions") as progress:
            importer = HermesImporter(
                sessions, ProjectService(store), batch_size=batch_size or DEFAULT_BATCH, progress=progress.update
            )
            return await importer.run(directory)
    finally:
        await store.close()


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the garbage collector's full passes off the objects that exist now (the libraries).

    An import parses millions of short-lived objects; a batch in flight outlives a few collections, so
    every few batches the collector makes a full pass, which costs as much as the whole heap: about a
    third of a second each, none in 1,000 sessions and three in 4,000. Frozen, a full pass only looks at
    what the import itself keeps."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def print_report(report: ImportReport, console: Console) -> None:
    console.print(f"[bold]Imported {len(report.imported)} session(s)[/bold] in {report.seconds:.2f} s")
    console.print(f"  skipped, already present: {len(report.present)}")
    console.print(f"  skipped, no messages:     {len(report.empty)}")
    console.print(f"  failed:                   {len(report.failed)}")
    if report.projects_created:
        console.print(f"  projects created:         {report.projects_created}")
    if report.renamed:
        console.print(f"  kept under a new id (id taken or invalid): {len(report.renamed)}")
    if report.dropped_messages:
        console.print(f"  messages dropped (not an object or unknown role): {report.dropped_messages}")
    for name, reason in report.failed:
        console.print(f"  [red]failed[/red] {name}: {reason}", markup=True, highlight=False)
