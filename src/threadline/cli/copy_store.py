"""``threadline copy-store``: copy every table to another database (``store/copying.py`` does the copy);
a progress bar per table, then the row counts. Exit status 1 on any mismatch, 2 when the copy cannot
start."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


def add_parser(commands: Any) -> None:
    copier = commands.add_parser(
        "copy-store", help="copy every table to another database (e.g. SQLite to PostgreSQL), keeping ids"
    )
    copier.add_argument("--from", dest="source", required=True, help="source database URL")
    copier.add_argument("--to", dest="target", required=True, help="target database URL (migrated first)")
    copier.add_argument("--force", action="store_true", help="empty a target that already has rows")
    copier.add_argument("--batch", type=int, default=1000, help="rows per insert (default 1000)")
    copier.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return copy_store_command(args.source, args.target, force=args.force, batch=args.batch)


def copy_store_command(source_url: str, target_url: str, *, force: bool = False, batch: int = 1000) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table as RichTable

    from threadline.cli.options import shown_url
    from threadline.store.copying import CopyError, TableCount, async_url, copy_store
    from threadline.store.engine import Store

    console = Console(stderr=True)
    source_url, target_url = async_url(source_url), async_url(target_url)

    async def copy() -> list[TableCount]:
        source, target = Store(source_url), Store(target_url)
        columns = (TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        try:
            with Progress(*columns, console=console, transient=False) as bar:
                tasks: dict[str, Any] = {}

                def started(totals: dict[str, int]) -> None:
                    for name, total in totals.items():
                        tasks[name] = bar.add_task(name, total=total)

                def advance(name: str, rows: int) -> None:
                    bar.advance(tasks[name], rows)

                return await copy_store(source, target, force=force, batch=batch, on_start=started,
                                        progress=advance)
        finally:
            await source.close()
            await target.close()

    console.print(f"copying {shown_url(source_url)} -> {shown_url(target_url)}")
    try:
        counts = asyncio.run(copy())
    except CopyError as exc:
        console.print(f"[red]copy-store: {exc}[/red]")
        return 2
    report = RichTable("table", "source", "target", "")
    for count in counts:
        report.add_row(count.table, str(count.source), str(count.target), "ok" if count.ok else "[red]MISMATCH[/red]")
    console.print(report)
    if not all(count.ok for count in counts):
        console.print("[red]copy-store: row counts differ[/red]")
        return 1
    console.print(f"copied {sum(c.source for c in counts)} rows")
    return 0
