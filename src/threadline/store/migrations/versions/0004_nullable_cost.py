"""an unknown cost is NULL, not 0

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Hermes WebUI writes ``estimated_cost: null`` when it could not price a turn; an import kept that as 0,
which reads as "free". ``sessions.estimated_cost`` becomes nullable (its default stays 0).

PostgreSQL drops the constraint in place. SQLite cannot alter a column, and the usual way round that,
rebuilding the table, would drop ``sessions`` while foreign keys are on (they are, and a migration runs
inside a transaction, where ``PRAGMA foreign_keys`` cannot change): the drop would cascade to every
message and run. So on SQLite the table's definition is edited in ``sqlite_schema``, which is SQLite's
documented procedure for removing a NOT NULL constraint (https://sqlite.org/lang_altertable.html,
"otherwise" section): no row is rewritten and nothing cascades.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The column as SQLAlchemy wrote it in 0001: ``estimated_cost FLOAT DEFAULT 0 NOT NULL``.
_COLUMN = re.compile(r"(\bestimated_cost\s+FLOAT\s+DEFAULT\s+(?:\([^)]*\)|[^\s,()]+))(\s+NOT\s+NULL)?", re.IGNORECASE)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_set_not_null(False)
    else:
        op.alter_column("sessions", "estimated_cost", existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE sessions SET estimated_cost = 0 WHERE estimated_cost IS NULL")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_set_not_null(True)
    else:
        op.alter_column("sessions", "estimated_cost", existing_type=sa.Float(), nullable=False)


def _sqlite_set_not_null(not_null: bool) -> None:
    bind = op.get_bind()
    sql = str(bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'sessions'").scalar())
    match = _COLUMN.search(sql)
    if match is None:
        raise RuntimeError("unexpected definition of sessions.estimated_cost; cannot change its NOT NULL")
    changed = sql[: match.start()] + match.group(1) + (" NOT NULL" if not_null else "") + sql[match.end():]
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar() or 0)
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'sessions'", (changed,)
        )
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    columns = bind.exec_driver_sql("PRAGMA table_info(sessions)").all()
    if not any(c[1] == "estimated_cost" and bool(c[3]) == not_null for c in columns):
        raise RuntimeError("sessions.estimated_cost did not change")
    problems = bind.exec_driver_sql("PRAGMA quick_check(sessions)").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"integrity check failed after changing sessions.estimated_cost: {problems[:5]}")
