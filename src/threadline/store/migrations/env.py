"""Alembic environment. Threadline runs migrations itself (``threadline migrate`` and at start-up),
handing a live connection in ``config.attributes["connection"]``; the URL form is for ``alembic`` CLI use
during development."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from threadline.store.tables import metadata

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or "sqlite:///threadline-dev.db"
    with create_engine(url).connect() as conn:
        _run(conn)
