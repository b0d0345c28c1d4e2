"""Copy a deployment between databases (SQLite <-> PostgreSQL); the command is ``cli/copy_store.py``.

Every table of ``tables.metadata`` is copied in foreign-key order, in batches, keeping ids; a table
that refers to itself (``sessions.parent_id``) is copied parents first. The target is migrated first
and must be empty unless ``force`` (then it is emptied). The source is read in one transaction, so
the copy is a consistent snapshot even if an instance is still writing (stop them anyway: later
writes are not copied). Afterwards the row counts of every table are compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, select, text, tuple_
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.store import tables as t
from threadline.store.bulk import insert_rows
from threadline.store.engine import Store

DEFAULT_BATCH = 1000
Progress = Callable[[str, int], None]  # (table, rows just copied)


class CopyError(Exception):
    """The copy cannot start (same database, target not empty, source not migrated)."""


@dataclass
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


def async_url(url: str) -> str:
    """Accept plain URLs too: ``sqlite:///x.db`` and ``postgresql://...`` get their async drivers."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
    if parsed.drivername in driver:
        parsed = parsed.set(drivername=driver[parsed.drivername])
    return parsed.render_as_string(hide_password=False)


def copy_order() -> list[Table]:
    return list(t.metadata.sorted_tables)


def _self_reference(table: Table) -> str | None:
    for fk in table.foreign_keys:
        if fk.column.table is table:
            return str(fk.parent.name)
    return None


async def count_rows(store: Store) -> dict[str, int]:
    async with store.read() as conn:
        return {table.name: int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
                for table in copy_order()}


async def _head_revision(store: Store) -> str | None:
    async with store.read() as conn:
        try:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        except Exception:  # noqa: BLE001 - no alembic_version table: never migrated
            return None


async def copy_store(
    source: Store,
    target: Store,
    *,
    force: bool = False,
    batch: int = DEFAULT_BATCH,
    on_start: Callable[[dict[str, int]], None] | None = None,
    progress: Progress | None = None,
) -> list[TableCount]:
    if source.engine.url == target.engine.url:
        raise CopyError("the source and the target are the same database")
    source_revision = await _head_revision(source)
    if source_revision is None:
        raise CopyError("the source has no Threadline schema (run `threadline migrate` on it first)")
    await target.migrate()
    target_revision = await _head_revision(target)
    if source_revision != target_revision:
        raise CopyError(f"the source is at schema {source_revision} and this version at {target_revision}: "
                        "run `threadline migrate` on the source first")
    totals = await count_rows(source)
    existing = await count_rows(target)
    if any(existing.values()):
        if not force:
            filled = ", ".join(f"{name} ({n})" for name, n in existing.items() if n)
            raise CopyError(f"the target is not empty: {filled}; use --force to replace its contents")
        await _empty(target)
    if on_start is not None:
        on_start(totals)
    async with source.read() as reader:
        if not source.is_sqlite:
            await reader.execution_options(isolation_level="REPEATABLE READ")
        for table in copy_order():
            await _copy_table(reader, target, table, batch, progress)
    await _reset_sequences(target)
    copied = await count_rows(target)
    return [TableCount(name, totals[name], copied[name]) for name in totals]


async def _empty(target: Store) -> None:
    async with target.write() as conn:
        for table in reversed(copy_order()):
            await conn.execute(table.delete())


async def _copy_table(
    reader: AsyncConnection, target: Store, table: Table, batch: int, progress: Progress | None
) -> None:
    parent = _self_reference(table)
    key = list(table.primary_key.columns)
    if parent is None:
        await _copy_rows(reader, target, table, key, None, batch, progress)
        return
    # Parents first: rows without a parent, then the children of what is already copied.
    column = table.c[parent]
    copied: set[Any] = set()
    generation = await _copy_rows(reader, target, table, key, column.is_(None), batch, progress)
    while generation:
        copied |= generation
        rows = await reader.execute(select(table.c[key[0].name], column).where(column.is_not(None)))
        ready = {row[0] for row in rows if row[1] in copied and row[0] not in copied}
        if not ready:
            break
        generation = await _copy_rows(reader, target, table, key, table.c[key[0].name].in_(ready), batch, progress)
    orphans = (await reader.execute(
        select(table).where(column.is_not(None), table.c[key[0].name].not_in(copied))
    )).mappings().all()
    if orphans:  # their parent is gone: keep them, detached, rather than lose them
        await _insert(target, table, [{**row, parent: None} for row in orphans])
        if progress is not None:
            progress(table.name, len(orphans))


async def _copy_rows(
    reader: AsyncConnection, target: Store, table: Table, key: list[Any], where: Any, batch: int,
    progress: Progress | None,
) -> set[Any]:
    """Copy the rows matching ``where`` in primary-key order, ``batch`` at a time (keyset pages);
    returns the first key column of what was copied when the table refers to itself."""
    keep_ids = _self_reference(table) is not None
    ids: set[Any] = set()
    last: tuple[Any, ...] | None = None
    while True:
        query = select(table)
        if where is not None:
            query = query.where(where)
        if last is not None:
            query = query.where(tuple_(*key) > tuple_(*last)) if len(key) > 1 else query.where(key[0] > last[0])
        rows = [dict(row) for row in (await reader.execute(query.order_by(*key).limit(batch))).mappings()]
        if not rows:
            return ids
        await _insert(target, table, rows)
        if keep_ids:
            ids.update(row[key[0].name] for row in rows)
        if progress is not None:
            progress(table.name, len(rows))
        last = tuple(rows[-1][column.name] for column in key)


async def _insert(target: Store, table: Table, rows: list[dict[str, Any]]) -> None:
    async with target.write() as conn:
        await insert_rows(conn, table, rows)


async def _reset_sequences(target: Store) -> None:
    """Ids were copied as they are; PostgreSQL's sequences must continue after the largest."""
    async with target.write() as conn:
        for table in copy_order():
            for statement in target.dialect.reset_sequence(table):
                await conn.execute(statement)
