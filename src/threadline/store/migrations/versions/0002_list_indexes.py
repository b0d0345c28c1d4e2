"""indexes for every list view

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

The sidebar's query is ``kind = 'chat' [AND archived = ?] [AND project_id = ?] ORDER BY pinned DESC,
sort_at DESC, id DESC LIMIT n``. ``ix_sessions_list`` serves it only with the archived filter; with
``archived=all`` SQLite sorted every row (about 190 ms for 100,000 sessions) and a project's view walked
the whole list index (about 90 ms for a small project). Each view now has an index in its order.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_project")
        batch_op.create_index(
            "ix_sessions_project", ["project_id", "kind", "pinned", "sort_at", "id"], unique=False
        )
        batch_op.create_index("ix_sessions_all", ["kind", "pinned", "sort_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_all")
        batch_op.drop_index("ix_sessions_project")
        batch_op.create_index("ix_sessions_project", ["project_id"], unique=False)
