"""messages form a tree: parent_id, the position on the active path, sessions.active_leaf_id

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Editing an earlier message or regenerating an answer keeps the old version: ``messages.parent_id`` is the
message a row follows, so versions are siblings. ``seq`` becomes a row's depth (its index on any path
through it) and is no longer unique; ``position`` equals ``seq`` while the row is on the session's active
path and is NULL otherwise, unique per session, so a page of the active path is one index range.
``active_at`` is when a row last joined the active path (which child a switch follows back down), and
``sessions.active_leaf_id`` is the path's last message, so appending stays one INSERT and one UPDATE.

Every existing transcript becomes a single-branch tree: each message's parent is the one before it, every
message is on the active path, its last message the leaf. On SQLite, dropping the old unique constraint
rebuilds the table (no foreign key refers to ``messages``, so nothing cascades), which drops its
triggers: the full-text triggers are created again (the index itself is unchanged: the rows keep their
ids and text). Downgrading keeps the active path only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQLITE_FTS_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS messages_fts_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_au AFTER UPDATE OF content ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
]


def _restore_sqlite_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_FTS_TRIGGERS:
            op.execute(statement)


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", RowId, nullable=True))
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("active_at", sa.Float(), server_default=sa.text("0"), nullable=False))
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active_leaf_id", RowId, nullable=True))

    # Linear transcripts become single-branch trees. The lookups by (session_id, seq) use the old unique
    # index, which is dropped only afterwards.
    op.execute("UPDATE messages SET position = seq, active_at = created_at")
    op.execute(
        "UPDATE messages SET parent_id = (SELECT p.id FROM messages p "
        "WHERE p.session_id = messages.session_id AND p.seq = messages.seq - 1) WHERE seq > 0"
    )
    op.execute(
        "UPDATE sessions SET active_leaf_id = (SELECT m.id FROM messages m "
        "WHERE m.session_id = sessions.id ORDER BY m.seq DESC LIMIT 1)"
    )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_messages_session_seq", type_="unique")
        batch_op.create_unique_constraint("uq_messages_session_position", ["session_id", "position"])
        batch_op.create_index("ix_messages_parent", ["session_id", "parent_id"], unique=False)
    _restore_sqlite_triggers()


def downgrade() -> None:
    op.execute("DELETE FROM messages WHERE position IS NULL")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_parent")
        batch_op.drop_constraint("uq_messages_session_position", type_="unique")
        batch_op.create_unique_constraint("uq_messages_session_seq", ["session_id", "seq"])
        batch_op.drop_column("active_at")
        batch_op.drop_column("position")
        batch_op.drop_column("parent_id")
    # Not in batch mode: on SQLite that rebuilds ``sessions``, and dropping the old table would delete, by
    # cascade, every row that refers to a session. Both databases drop a plain column in place.
    op.execute("ALTER TABLE sessions DROP COLUMN active_leaf_id")
    _restore_sqlite_triggers()
