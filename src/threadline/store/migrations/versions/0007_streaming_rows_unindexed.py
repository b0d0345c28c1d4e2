"""messages of a live run (status ``streaming``) stay out of the full-text index until they end

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Every checkpoint rewrites each live run's partial answer, and the full-text index re-tokenized the
whole text each time (SQLite's FTS5 triggers delete the old text and add the new; PostgreSQL's
generated ``tsv`` column is computed again): at 200 streams that made one checkpoint batch take 50-300
ms, growing with the answers. A checkpointed row of a live run now has the status ``streaming`` (shown as
``partial`` by the API) and is indexed once it ends, whatever its final status: the triggers and the
generated column skip ``streaming`` rows, and the update trigger fires on a change of status too.
Existing rows keep their status and their index entries.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_INDEXED_NEW = "new.status IS NOT 'streaming'"
_INDEXED_OLD = "old.status IS NOT 'streaming'"

_SQLITE_TRIGGERS = [
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN "
    f"INSERT INTO messages_fts(rowid, content) SELECT new.id, new.content WHERE {_INDEXED_NEW}; END",
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) "
    f"SELECT 'delete', old.id, old.content WHERE {_INDEXED_OLD}; END",
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF content, status ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) "
    f"SELECT 'delete', old.id, old.content WHERE {_INDEXED_OLD}; "
    f"INSERT INTO messages_fts(rowid, content) SELECT new.id, new.content WHERE {_INDEXED_NEW}; END",
]

_SQLITE_OLD_TRIGGERS = [
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END",
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF content ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
]

_TSV = "to_tsvector('simple', left(content, 200000))"


def _sqlite(triggers: list[str]) -> None:
    for name in ("messages_fts_ai", "messages_fts_ad", "messages_fts_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in triggers:
        op.execute(statement)


def _postgres(expression: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_messages_tsv")
    op.execute("ALTER TABLE messages DROP COLUMN IF EXISTS tsv")
    op.execute(f"ALTER TABLE messages ADD COLUMN tsv tsvector GENERATED ALWAYS AS ({expression}) STORED")
    op.execute("CREATE INDEX ix_messages_tsv ON messages USING gin (tsv)")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite(_SQLITE_TRIGGERS)
    elif dialect == "postgresql":
        _postgres(f"CASE WHEN status = 'streaming' THEN NULL ELSE {_TSV} END")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("UPDATE messages SET status = 'partial' WHERE status = 'streaming'")
        _sqlite(_SQLITE_OLD_TRIGGERS)
        op.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
    elif dialect == "postgresql":
        op.execute("UPDATE messages SET status = 'partial' WHERE status = 'streaming'")
        _postgres(_TSV)
