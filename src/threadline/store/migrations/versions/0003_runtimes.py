"""a session's runtime; sequence numbers a run reserves; instances

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

``sessions.runtime`` names the runtime a session runs on (NULL: the built-in one). ``runs.seq_reserved``
is a durable ceiling on the sequence numbers a live run may have sent: an ending written by recovery or
by another instance's sweep is numbered above it, so a client resuming from the last event it saw
always receives it. ``instances`` holds each instance's last heartbeat.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("runtime", sa.String(64), nullable=True))
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq_reserved", sa.BigInteger(), nullable=True))
    op.create_table(
        "instances",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("heartbeat_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
    )


def downgrade() -> None:
    op.drop_table("instances")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("seq_reserved")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("runtime")
