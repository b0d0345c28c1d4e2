"""The schema: sessions, messages as rows, runs and their event log, projects, settings.

Times are float epoch seconds (the reference API's unit). ``sessions.sort_at`` is the last activity
(last message, else creation) and carries the sidebar's keyset index.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only aliases ROWID for a column declared exactly INTEGER PRIMARY KEY.
RowId = BigInteger().with_variant(Integer(), "sqlite")

projects = Table(
    "projects",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("color", String(16), nullable=True),
    Column("created_at", Float, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", String(300), nullable=False, server_default="Untitled"),
    Column("workspace", Text, nullable=False),
    Column("model", String(300), nullable=True),
    Column("project_id", String(64), ForeignKey("projects.id", ondelete="SET NULL"), nullable=True),
    Column("pinned", Boolean, nullable=False, server_default=text("false")),
    Column("archived", Boolean, nullable=False, server_default=text("false")),
    Column("kind", String(16), nullable=False, server_default="chat"),
    Column("parent_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("last_message_at", Float, nullable=True),
    Column("sort_at", Float, nullable=False),
    Column("message_count", Integer, nullable=False, server_default=text("0")),
    Column("input_tokens", BigInteger, nullable=False, server_default=text("0")),
    Column("output_tokens", BigInteger, nullable=False, server_default=text("0")),
    Column("estimated_cost", Float, nullable=True, server_default=text("0")),  # None: unknown (migration 0004)
    Column("active_run_id", String(64), nullable=True),
    Column("runtime", String(64), nullable=True),  # None: the built-in runtime (migration 0003)
    Column("extra", JSON, nullable=False, server_default=text("'{}'")),
    # One index per list view, each in the list's order (migration 0002).
    Index("ix_sessions_list", "kind", "archived", "pinned", "sort_at", "id"),
    Index("ix_sessions_all", "kind", "pinned", "sort_at", "id"),
    Index("ix_sessions_project", "project_id", "kind", "pinned", "sort_at", "id"),
    Index("ix_sessions_parent", "parent_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False, server_default=""),
    Column("parts", JSON, nullable=True),
    Column("tool_calls", JSON, nullable=True),
    Column("tool_call_id", String(128), nullable=True),
    Column("reasoning", Text, nullable=True),
    Column("status", String(16), nullable=False, server_default="complete"),
    Column("in_context", Boolean, nullable=False, server_default=text("true")),
    Column("meta", JSON, nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("session_id", "seq", name="uq_messages_session_seq"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False, server_default="chat"),
    Column("status", String(16), nullable=False),
    Column("model", String(300), nullable=True),
    Column("request", JSON, nullable=True),
    Column("error", JSON, nullable=True),
    Column("usage", JSON, nullable=True),
    Column("owner", String(64), nullable=True),
    Column("lease_until", Float, nullable=True),
    # Sequence numbers below this may have reached subscribers; an ending written by another process
    # (recovery, a sweep) numbers its event above it (migration 0003).
    Column("seq_reserved", BigInteger, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
    Index("ix_runs_session_status", "session_id", "status"),
    Index("ix_runs_status", "status"),
)

run_events = Table(
    "run_events",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("type", String(32), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
)

background_tasks = Table(
    "background_tasks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("parent_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("run_id", String(64), nullable=True),
    Column("prompt", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("answer", Text, nullable=True),
    Column("delivered", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Index("ix_background_tasks_parent", "parent_id"),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("tool", String(64), nullable=False),
    Column("pattern", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("tool", "pattern", name="uq_approvals_tool_pattern"),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", JSON, nullable=True),
)

# One row per instance that shares the database: its last sign of life (migration 0003).
instances = Table(
    "instances",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("heartbeat_at", Float, nullable=False),
)
