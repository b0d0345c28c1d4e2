"""Every piece of SQL that differs between SQLite and PostgreSQL: full-text search, upserts, the
migration lock."""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import ColumnElement, Table, TextClause, bindparam, text
from sqlalchemy.sql.dml import Insert

SNIPPET_OPEN = "«"
SNIPPET_CLOSE = "»"

# pg_advisory_xact_lock key of the migration lock: any 64-bit number no other application on the database uses.
MIGRATION_LOCK_KEY = 0x7468726561646C6F


class Dialect:
    def __init__(self, name: str) -> None:
        if name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database dialect: {name}")
        self.name = name
        # The dialect's INSERT with ON CONFLICT; only this database's dialect module is loaded.
        self._insert: Any = importlib.import_module(f"sqlalchemy.dialects.{name}").insert

    def migration_lock(self) -> TextClause | None:
        """Taken before migrating, so instances starting together migrate one after the other."""
        if self.name == "sqlite":
            return None  # BEGIN IMMEDIATE
        return text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")

    def reset_sequence(self, table: Table) -> list[TextClause]:
        """After rows were inserted with their ids: make the next generated id follow the largest.
        SQLite's rowid does that by itself."""
        column = table.autoincrement_column
        if self.name == "sqlite" or column is None:
            return []
        return [text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
            f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
        )]

    def insert_ignore(self, table: Table, values: dict[str, Any]) -> Insert:
        """INSERT that does nothing when the primary key exists."""
        statement: Insert = self._insert(table).values(**values).on_conflict_do_nothing()
        return statement

    def upsert(self, table: Table, values: dict[str, Any], key: str) -> Insert:
        insert = self._insert(table).values(**values)
        statement: Insert = insert.on_conflict_do_update(
            index_elements=[key], set_={k: insert.excluded[k] for k in values if k != key}
        )
        return statement

    def fts_query(self, raw: str) -> str | None:
        """Turn user text into a safe full-text query: every word must match, the last as a prefix."""
        words = [w for w in "".join(c if c.isalnum() else " " for c in raw).split() if w]
        if not words:
            return None
        words = words[:12]
        if self.name == "sqlite":
            quoted = [f'"{w}"' for w in words]
            quoted[-1] += "*"
            return " ".join(quoted)
        parts = [w.replace("'", "") for w in words]
        parts[-1] += ":*"
        return " & ".join(parts)

    def contains_ci(self, column: Any, pattern: str) -> ColumnElement[bool]:
        """Case-insensitive ``LIKE`` with ``\\`` as the escape. SQLite's LIKE already ignores ASCII case,
        the same as its ``lower()``, so it skips the ``lower()`` call per row that ``ilike`` adds."""
        if self.name == "sqlite":
            return column.like(pattern, escape="\\")  # type: ignore[no-any-return]
        return column.ilike(pattern, escape="\\")  # type: ignore[no-any-return]

    def content_search(self) -> TextClause:
        """The best-ranked ``:scan`` messages for ``:q``: columns session_id, message_id, score (lower
        is better), best first. Ranked inside the full-text index before any join; snippets come
        from ``snippets()`` for the few messages shown. Hidden kinds and archived filters are applied
        by the caller."""
        if self.name == "sqlite":
            return text(
                """
                WITH top AS (
                    SELECT rowid AS id, rank AS score FROM messages_fts
                    WHERE messages_fts MATCH :q ORDER BY rank LIMIT :scan
                )
                SELECT m.session_id AS session_id, m.id AS message_id, top.score AS score
                FROM top JOIN messages m ON m.id = top.id
                ORDER BY top.score
                """
            )
        return text(
            """
            SELECT m.session_id, m.id AS message_id, -ts_rank(m.tsv, to_tsquery('simple', :q)) AS score
            FROM messages m
            WHERE m.tsv @@ to_tsquery('simple', :q)
            ORDER BY score
            LIMIT :scan
            """
        )

    def snippets(self) -> TextClause:
        """``(message_id, snippet)`` for the messages ``:ids`` matching ``:q``, the match between
        ``:open`` and ``:close``."""
        if self.name == "sqlite":
            statement = text(
                """
                SELECT rowid AS message_id, snippet(messages_fts, 0, :open, :close, '…', 12) AS snippet
                FROM messages_fts
                WHERE messages_fts MATCH :q AND rowid IN :ids
                """
            )
        else:
            statement = text(
                """
                SELECT id AS message_id,
                       ts_headline('simple', left(content, 20000), to_tsquery('simple', :q),
                                   'StartSel=' || :open || ', StopSel=' || :close
                                   || ', MaxWords=24, MinWords=8, MaxFragments=1') AS snippet
                FROM messages
                WHERE id IN :ids
                """
            )
        return statement.bindparams(bindparam("ids", expanding=True))
