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
    # The last message of the active path (NULL: none); ``message_count`` is that path's length (0006).
    Column("active_leaf_id", RowId, nullable=True),
    Column("extra", JSON, nullable=False, server_default=text("'{}'")),
    # One index per list view, each in the list's order (migration 0002).
    Index("ix_sessions_list", "kind", "archived", "pinned", "sort_at", "id"),
    Index("ix_sessions_all", "kind", "pinned", "sort_at", "id"),
    Index("ix_sessions_project", "project_id", "kind", "pinned", "sort_at", "id"),
    Index("ix_sessions_parent", "parent_id"),
)

# Messages form a tree per session (migration 0006): ``parent_id`` is the message a row follows (NULL:
# a first message), so versions of a message are siblings. ``seq`` is a row's depth, its index on any
# path through it; ``position`` equals ``seq`` while the row is on the session's active path and is
# NULL otherwise, so a page of the active path is one range of ``uq_messages_session_position``.
messages = Table(
    "messages",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("parent_id", RowId, nullable=True),  # a row of the same session, created before this one
    Column("position", Integer, nullable=True),
    Column("active_at", Float, nullable=False, server_default=text("0")),  # when it last joined the path
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
    UniqueConstraint("session_id", "position", name="uq_messages_session_position"),
    Index("ix_messages_parent", "session_id", "parent_id"),
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

# Memory (migration 0005): two documents per owner, ``memory`` (what the agent learned) and ``user``
# (about the user); ``project_id`` is "" for the owner's own memory, else a project's. Every change
# is kept as a revision, so the UI can show the history and undo.
memory_documents = Table(
    "memory_documents",
    metadata,
    Column("owner", String(64), primary_key=True),
    Column("project_id", String(64), primary_key=True),
    Column("section", String(16), primary_key=True),
    Column("content", Text, nullable=False, server_default=""),
    Column("revision", Integer, nullable=False, server_default=text("0")),
    Column("updated_at", Float, nullable=False),
)

memory_revisions = Table(
    "memory_revisions",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("owner", String(64), nullable=False),
    Column("project_id", String(64), nullable=False),
    Column("section", String(16), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("content", Text, nullable=False),
    Column("source", String(16), nullable=False),  # api | agent | import | undo
    Column("note", String(300), nullable=True),  # what changed, in a few words
    Column("session_id", String(64), nullable=True),  # the session whose run changed it
    Column("created_at", Float, nullable=False),
    UniqueConstraint("owner", "project_id", "section", "revision", name="uq_memory_revisions_document"),
)

# Scheduled tasks (migration 0005). ``next_run_at`` is the lease: a firing is claimed by the one
# conditional UPDATE that moves it on, and recorded as a ``cron_firings`` row, unique per slot.
cron_jobs = Table(
    "cron_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("schedule", String(200), nullable=False),  # as the user wrote it
    Column("kind", String(16), nullable=False),  # cron | interval | once
    Column("expr", String(200), nullable=False),  # cron expression, interval seconds, or ISO time
    Column("timezone", String(64), nullable=False),
    Column("model", String(300), nullable=True),
    Column("skills", JSON, nullable=False, server_default=text("'[]'")),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True),
    Column("own_session", Boolean, nullable=False, server_default=text("false")),  # a hidden session of its own
    Column("state", String(16), nullable=False),  # scheduled | paused | completed
    Column("next_run_at", Float, nullable=True),
    Column("anchor_at", Float, nullable=False),  # intervals count from here
    Column("repeat_times", Integer, nullable=True),  # None: forever
    Column("run_count", Integer, nullable=False, server_default=text("0")),
    Column("last_run_at", Float, nullable=True),
    Column("last_status", String(16), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("extra", JSON, nullable=False, server_default=text("'{}'")),
    Index("ix_cron_jobs_due", "state", "next_run_at"),
)

cron_firings = Table(
    "cron_firings",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("job_id", String(32), ForeignKey("cron_jobs.id", ondelete="CASCADE"), nullable=False),
    Column("due_at", Float, nullable=False),
    Column("trigger", String(16), nullable=False),  # schedule | manual
    Column("status", String(16), nullable=False),  # running | succeeded | failed | cancelled | interrupted | missed
    Column("run_id", String(64), nullable=True),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True),
    Column("instance_id", String(64), nullable=True),
    Column("started_at", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
    Column("answer", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("delivered", Boolean, nullable=False, server_default=text("false")),
    UniqueConstraint("job_id", "trigger", "due_at", name="uq_cron_firings_slot"),
    Index("ix_cron_firings_job", "job_id", "id"),
    Index("ix_cron_firings_run", "run_id"),
    Index("ix_cron_firings_finished", "finished_at"),
)

# What the user is told outside a chat (a scheduled task's result...): the sidebar's list with an unread
# badge. ``source`` makes each notice exactly once (a firing gives one notice whatever happens).
notices = Table(
    "notices",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False, server_default=""),
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True),
    Column("job_id", String(32), ForeignKey("cron_jobs.id", ondelete="SET NULL"), nullable=True),
    Column("source", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("read_at", Float, nullable=True),
    UniqueConstraint("source", name="uq_notices_source"),
    Index("ix_notices_unread", "read_at", "id"),
)
