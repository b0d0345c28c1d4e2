"""``threadline migrate``: create or upgrade the database schema."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from threadline.cli.options import add_home, settings_from, shown_url


def add_parser(commands: Any) -> None:
    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    add_home(migrate)
    migrate.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from threadline.store.engine import Store

    settings = settings_from(args)
    settings.home.mkdir(parents=True, exist_ok=True)

    async def upgrade() -> None:
        store = Store(settings.resolved_database_url)
        try:
            await store.migrate()
        finally:
            await store.close()

    asyncio.run(upgrade())
    print(f"database is up to date: {shown_url(settings.resolved_database_url)}")
    return 0
