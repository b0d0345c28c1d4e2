"""Inserting many rows at once: multi-row ``INSERT ... VALUES`` statements, not one statement per row.

On SQLite the full-text index of ``messages`` is kept by a trigger, and FTS5 writes what it has pending
to a new index segment at every statement that changes it. A plain ``executemany`` runs one statement
per row, so it leaves one segment per message, and merging those costs more the bigger the index is: the
64,000 messages of 4,000 Hermes sessions took about 4x as long to insert that way as in one statement
per 1,000 rows. One statement per page of rows makes one segment per page.

SQLAlchemy's "insertmanyvalues" mode writes those statements: it pages the rows into multi-row INSERTs
within the database's parameter limit, compiling the statement once. SQLite and asyncpg use it when the
INSERT returns something, hence the ``RETURNING`` of the primary key, which callers ignore.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection

ROWS_PER_STATEMENT = 1000


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in as few statements as the parameter limit allows."""
    if not rows:
        return
    statement = insert(table).returning(*table.primary_key.columns)
    await conn.execute(
        statement, list(rows), execution_options={"insertmanyvalues_page_size": ROWS_PER_STATEMENT}
    )
