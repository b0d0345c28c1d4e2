"""How the engine's connections are set up: SQLite's pragmas and its BEGIN, PostgreSQL's liveness
checks, and NUL in bound text."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

NUL_REPLACEMENT = "\ufffd"
IDLE_PING_SECONDS = 5.0  # a pooled connection idle this long is checked before it is handed out
_RETURNED_AT = "threadline_returned_at"


def configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, a busy timeout, and transactions that take the write lock up front."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA cache_size=-32000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def configure_pings(engine: AsyncEngine) -> None:
    """A pooled connection that sat idle for ``IDLE_PING_SECONDS`` is pinged before use, and replaced if
    the server dropped it (a restart, an idle timeout); one returned moments ago is not. SQLAlchemy's
    ``pool_pre_ping`` pinged on every checkout: a round trip before every read, a quarter of a
    one-query read's CPU under load. A connection that breaks between two quick uses fails that one
    statement, and SQLAlchemy then drops every connection of the pool older than the failure."""
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_RETURNED_AT, 0.0) < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool discards this connection and checks out another
            raise exc.DisconnectionError(f"a pooled connection failed its ping: {error}") from error


def _strip_nul(value: Any) -> Any:
    return value.replace("\x00", NUL_REPLACEMENT) if isinstance(value, str) and "\x00" in value else value


def configure_text(engine: AsyncEngine) -> None:
    """PostgreSQL text cannot hold NUL; on every database a NUL in a bound string is stored as U+FFFD,
    so both behave alike (JSON values are already escaped as ``\\u0000``)."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
    def _on_execute(
        _conn: Connection, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool
    ) -> tuple[str, Any]:
        if not parameters:
            return statement, parameters
        if executemany and isinstance(parameters[0], dict | tuple | list):
            return statement, [_clean_params(p) for p in parameters]
        # One statement's parameters; each page of a multi-row INSERT (SQLAlchemy's "insertmanyvalues",
        # see store/bulk.py) also comes flat, though flagged ``executemany``.
        return statement, _clean_params(parameters)


def _clean_params(parameters: Any) -> Any:
    if isinstance(parameters, dict):
        if any(isinstance(v, str) and "\x00" in v for v in parameters.values()):
            return {k: _strip_nul(v) for k, v in parameters.items()}
        return parameters
    if any(isinstance(v, str) and "\x00" in v for v in parameters):
        return type(parameters)(_strip_nul(v) for v in parameters)
    return parameters
