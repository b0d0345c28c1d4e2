"""memory documents and their revisions; scheduled tasks, their firings; notices

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

``memory_documents`` holds the current text of each memory document (``memory`` and ``user``, per owner
and optionally per project) and ``memory_revisions`` every version of it, for the history and undo.
``cron_jobs`` are the scheduled tasks; ``next_run_at`` is moved on by the one conditional UPDATE that
claims a firing, and ``cron_firings`` records each firing once per slot (unique ``job_id, trigger,
due_at``). ``notices`` are what the sidebar shows with an unread badge, once per ``source``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "memory_documents",
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("section", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), server_default="", nullable=False),
        sa.Column("revision", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "project_id", "section", name=op.f("pk_memory_documents")),
    )
    op.create_table(
        "memory_revisions",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("section", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("note", sa.String(300), nullable=True),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memory_revisions")),
        sa.UniqueConstraint("owner", "project_id", "section", "revision", name="uq_memory_revisions_document"),
    )
    op.create_table(
        "cron_jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("schedule", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("expr", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("model", sa.String(300), nullable=True),
        sa.Column("skills", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("own_session", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("next_run_at", sa.Float(), nullable=True),
        sa.Column("anchor_at", sa.Float(), nullable=False),
        sa.Column("repeat_times", sa.Integer(), nullable=True),
        sa.Column("run_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_run_at", sa.Float(), nullable=True),
        sa.Column("last_status", sa.String(16), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("extra", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_cron_jobs_session_id_sessions"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cron_jobs")),
    )
    with op.batch_alter_table("cron_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_cron_jobs_due", ["state", "next_run_at"], unique=False)
    op.create_table(
        "cron_firings",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("instance_id", sa.String(64), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("delivered", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["cron_jobs.id"], name=op.f("fk_cron_firings_job_id_cron_jobs"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_cron_firings_session_id_sessions"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cron_firings")),
        sa.UniqueConstraint("job_id", "trigger", "due_at", name="uq_cron_firings_slot"),
    )
    with op.batch_alter_table("cron_firings", schema=None) as batch_op:
        batch_op.create_index("ix_cron_firings_job", ["job_id", "id"], unique=False)
        batch_op.create_index("ix_cron_firings_run", ["run_id"], unique=False)
        batch_op.create_index("ix_cron_firings_finished", ["finished_at"], unique=False)
    op.create_table(
        "notices",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("read_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_notices_session_id_sessions"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["job_id"], ["cron_jobs.id"], name=op.f("fk_notices_job_id_cron_jobs"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("source", name="uq_notices_source"),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index("ix_notices_unread", ["read_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("notices")
    op.drop_table("cron_firings")
    op.drop_table("cron_jobs")
    op.drop_table("memory_revisions")
    op.drop_table("memory_documents")
