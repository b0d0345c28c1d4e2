"""Messages as a tree: editing an earlier message or regenerating an answer keeps the old version.

Each message row has a ``parent_id`` (the message it follows; NULL for a first message), so versions of a
message are siblings. One path from a first message down to a leaf is the session's *active path*: the
transcript that ``GET /api/session`` pages through, that the model is sent, and that the next message is
appended to. The path is materialized so that nothing walks the tree per request:

- a row on the path has ``position = seq`` (``seq`` is a row's depth), every other row ``position IS
  NULL``, unique per session: a page of the path is one range of ``uq_messages_session_position``;
- ``sessions.active_leaf_id`` is the path's last row and ``sessions.message_count`` its length, so
  appending stays one INSERT and one UPDATE (``SessionService.append_message``);
- moving the path (``set_leaf``) rewrites only the rows that leave or join it and deletes nothing.

Going to a message (``switch``) follows, below it, the child that joined the path most recently
(``active_at``), so a version comes back as it was left. Every move is refused by the callers while a run
owns the session, like every other history rewrite.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import JSON, Text, bindparam, delete, func, insert, literal, select, text, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.errors import NotFound
from threadline.jsonvalues import decode_json
from threadline.redact import Memo
from threadline.sessions.views import (
    BranchesAfter,
    MessagePublic,
    MessageVersion,
    MessageVersions,
    MessageWindow,
    message_public,
    public_status,
)
from threadline.store import tables as t

PREVIEW_CHARS = 120
CHUNK = 500  # ids per IN (...) list

m = t.messages

# From a message up to the first ancestor on the active path (included), or up to a first message.
_UP = text(
    """
    WITH RECURSIVE up(id, parent_id, seq, position) AS (
        SELECT id, parent_id, seq, position FROM messages WHERE id = :id AND session_id = :sid
        UNION ALL
        SELECT p.id, p.parent_id, p.seq, p.position FROM messages p JOIN up ON p.id = up.parent_id
        WHERE up.position IS NULL
    )
    SELECT id, parent_id, seq, position FROM up
    """
)

# From a message down, each time to the child that joined the active path last; the last id is the leaf.
_DOWN = text(
    """
    WITH RECURSIVE down(id) AS (
        SELECT CAST(:id AS BIGINT)
        UNION ALL
        SELECT (SELECT c.id FROM messages c WHERE c.session_id = :sid AND c.parent_id = down.id
                ORDER BY c.active_at DESC, c.id DESC LIMIT 1)
        FROM down WHERE down.id IS NOT NULL
    )
    SELECT id FROM down WHERE id IS NOT NULL
    """
)


@dataclass(frozen=True)
class Moved:
    """What a move of the active path did: how many rows left it and which row is now its leaf."""

    left: int
    leaf_id: int | None
    length: int


def _chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def preview(text_value: str) -> str:
    text_value = " ".join(text_value.split())
    return text_value if len(text_value) <= PREVIEW_CHARS else text_value[:PREVIEW_CHARS] + "…"


async def message_row(conn: AsyncConnection, session_id: str, message_id: int) -> Any:
    row = (await conn.execute(
        select(m).where(m.c.id == message_id, m.c.session_id == session_id)
    )).mappings().first()
    if row is None:
        raise NotFound(f"message not found in this session: {message_id}")
    return row


# -- reading the active path ---------------------------------------------------------------------


# A page's columns on SQLite as its driver reads them, JSON ones as their text: most of a page's JSON
# values are NULL, and decoding the others (``_page_row``) spares SQLAlchemy's per-value processing of
# every JSON column of every row. asyncpg decodes JSON itself, so on PostgreSQL the columns are read as
# they are.
_JSON_COLUMNS = tuple(c.name for c in m.c if isinstance(c.type, JSON))
_SQLITE_PAGE_COLUMNS = [type_coerce(c, Text).label(c.name) if c.name in _JSON_COLUMNS else c for c in m.c]
_PAGE_NAMES = tuple(c.name for c in m.c)


def _page_row(row: Sequence[Any], decode: bool) -> dict[str, Any]:
    values = dict(zip(_PAGE_NAMES, row, strict=True))
    if decode:
        for name in _JSON_COLUMNS:
            if values[name] is not None:
                values[name] = decode_json(values[name])
    return values


def _text_size(row: tuple[Any, ...]) -> int:
    return sum(len(value) for value in row if isinstance(value, str))


# The public form of SQLite page rows by the row as read (every column, JSON ones as text), so an
# unchanged message is converted once per process, not on every open of its session; any change to a
# row is another key, so it is never answered stale. Answers are copied: callers add to them.
PUBLIC_ROWS: Memo[tuple[Any, ...], MessagePublic] = Memo(limit=16 * 1024 * 1024, size=_text_size)  # characters


def _public(row: Sequence[Any]) -> MessagePublic:
    key = tuple(row)
    known = PUBLIC_ROWS.get(key)
    if known is None:
        known = message_public(_page_row(key, True))
        PUBLIC_ROWS.put(key, known)
    return cast(MessagePublic, dict(known))


async def window(
    conn: AsyncConnection, session: Any, limit: int | None, before: int | None
) -> MessageWindow:
    """A page of the active path, the reference's ``msg_limit``/``msg_before`` (positions on the path):
    ``messages`` (each with its versions, see ``annotate``), ``_messages_offset``,
    ``_messages_truncated``; and ``branches_after`` when the page ends the path and kept rows follow
    its last message (an undone turn)."""
    count = session["message_count"]
    end = count if before is None else max(0, min(before, count))
    start = 0 if limit is None else max(0, end - limit)
    sqlite = conn.dialect.name == "sqlite"
    query = (
        select(*(_SQLITE_PAGE_COLUMNS if sqlite else m.c))
        .where(m.c.session_id == session["id"], m.c.position >= start, m.c.position < end)
        .order_by(m.c.position)
    )
    rows = (await conn.execute(query)).all()
    if sqlite:
        messages = [_public(row) for row in rows]
    else:
        messages = [message_public(_page_row(row, False)) for row in rows]
    await annotate(conn, session["id"], messages, start, end)
    page: MessageWindow = {"messages": messages, "_messages_offset": start, "_messages_truncated": start > 0}
    if end == count:
        page["branches_after"] = await branches_after(conn, session["id"], session["active_leaf_id"])
    return page


async def context_rows(conn: AsyncConnection, session_id: str) -> list[MessagePublic]:
    """The active path as the model sees it: its in-context rows, in order."""
    query = (
        select(m)
        .where(m.c.session_id == session_id, m.c.position >= 0, m.c.in_context)
        .order_by(m.c.position)
    )
    return [message_public(r) for r in (await conn.execute(query)).mappings()]


def _parent_clause(parents: set[int | None]) -> Any:
    known = sorted(p for p in parents if p is not None)
    clauses = []
    if known:
        clauses.append(m.c.parent_id.in_(known))
    if None in parents:
        clauses.append(m.c.parent_id.is_(None))
    return clauses[0] if len(clauses) == 1 else clauses[0] | clauses[1]


async def annotate(
    conn: AsyncConnection, session_id: str, messages: list[MessagePublic], start: int, end: int
) -> None:
    """Adds to each of ``messages`` (the path's positions ``start`` to ``end``) that has other versions
    (siblings) ``sibling_ids`` (every version, oldest first), ``sibling_index`` (its own, from 0) and
    ``sibling_count``. One query for the page, by ``ix_messages_parent``: the children of those of the
    page's parents that have more than one (a first message's versions have none, and are few)."""
    if not messages:
        return
    parents = select(m.c.parent_id).where(m.c.session_id == session_id, m.c.position >= start, m.c.position < end)
    forks = (
        select(m.c.parent_id)
        .where(m.c.session_id == session_id, m.c.parent_id.in_(parents))
        .group_by(m.c.parent_id)
        .having(func.count() > 1)
    )
    of_page: Any = m.c.parent_id.in_(forks)
    if any(message["parent_id"] is None for message in messages):
        of_page = of_page | m.c.parent_id.is_(None)
    query = select(m.c.id, m.c.parent_id).where(m.c.session_id == session_id, of_page).order_by(m.c.id)
    children: dict[int | None, list[int]] = {}
    for child_id, parent_id in await conn.execute(query):
        children.setdefault(parent_id, []).append(child_id)
    for message in messages:
        siblings = children.get(message["parent_id"])
        if siblings is not None and len(siblings) > 1 and message["id"] in siblings:
            message["sibling_ids"] = siblings
            message["sibling_index"] = siblings.index(message["id"])
            message["sibling_count"] = len(siblings)


async def branches_after(conn: AsyncConnection, session_id: str, leaf_id: int | None) -> BranchesAfter | None:
    """Kept rows that follow the path's last message (after an undo or a truncate): how many, and the one
    that was on the path last (``switch`` to it brings them back)."""
    query = (
        select(m.c.id)
        .where(m.c.session_id == session_id, _parent_clause({leaf_id}))
        .order_by(m.c.active_at.desc(), m.c.id.desc())
    )
    ids = list((await conn.execute(query)).scalars())
    return {"count": len(ids), "message_id": ids[0]} if ids else None


async def versions(conn: AsyncConnection, session_id: str, message_id: int) -> MessageVersions:
    """Every version of a message (its siblings, itself included), oldest first."""
    row = await message_row(conn, session_id, message_id)
    query = (
        select(m.c.id, m.c.role, m.c.content, m.c.status, m.c.created_at, m.c.position)
        .where(m.c.session_id == session_id, _parent_clause({row["parent_id"]}))
        .order_by(m.c.id)
    )
    items: list[MessageVersion] = [
        {"message_id": r.id, "role": r.role, "preview": preview(r.content), "status": public_status(r.status),
         "timestamp": r.created_at, "active": r.position is not None}
        for r in await conn.execute(query)
    ]
    index = next(i for i, item in enumerate(items) if item["message_id"] == message_id)
    return {"session_id": session_id, "message_id": message_id, "parent_id": row["parent_id"],
            "seq": row["seq"], "index": index, "count": len(items), "versions": items}


async def leaf(conn: AsyncConnection, session_id: str) -> int | None:
    """The id of the active path's last message (None: the path is empty)."""
    found = await conn.execute(select(t.sessions.c.active_leaf_id).where(t.sessions.c.id == session_id))
    return found.scalar()


async def last_on_path(conn: AsyncConnection, session_id: str, *conditions: Any) -> Any:
    """The last row of the active path matching ``conditions`` (read backwards along the index)."""
    query = (
        select(m).where(m.c.session_id == session_id, m.c.position >= 0, *conditions)
        .order_by(m.c.position.desc()).limit(1)
    )
    return (await conn.execute(query)).mappings().first()


async def on_path(conn: AsyncConnection, message_ids: Sequence[int]) -> set[int]:
    """Which of ``message_ids`` are on their session's active path."""
    found: set[int] = set()
    for chunk in _chunks(list(message_ids)):
        rows = await conn.execute(select(m.c.id).where(m.c.id.in_(chunk), m.c.position.is_not(None)))
        found.update(rows.scalars())
    return found


async def off_path(conn: AsyncConnection, session_id: str) -> list[MessagePublic]:
    """Every kept row that is not on the active path, in the order they were written."""
    query = select(m).where(m.c.session_id == session_id, m.c.position.is_(None)).order_by(m.c.id)
    return [message_public(r) for r in (await conn.execute(query)).mappings()]


# -- moving the active path ----------------------------------------------------------------------


async def set_leaf(conn: AsyncConnection, session: Any, leaf_id: int | None) -> Moved:
    """Make the active path end at ``leaf_id`` (None: an empty path, the next message is a new first
    one). Rows below the leaf's nearest ancestor on the current path leave it; the leaf's own inactive
    ancestors join it. ``session`` is the session row, locked by the caller (``require_idle`` first)."""
    session_id = session["id"]
    if leaf_id == session["active_leaf_id"]:
        return Moved(0, leaf_id, session["message_count"])
    joining: list[int] = []
    anchor_seq = -1
    length = 0
    if leaf_id is not None:
        chain = list(await conn.execute(_UP, {"id": leaf_id, "sid": session_id}))
        if not chain:
            raise NotFound(f"message not found in this session: {leaf_id}")
        anchor = chain[-1] if chain[-1].position is not None else None
        joining = [r.id for r in chain if r.position is None]
        anchor_seq = anchor.seq if anchor is not None else -1
        length = chain[0].seq + 1
    left = (await conn.execute(
        update(m).where(m.c.session_id == session_id, m.c.position > anchor_seq).values(position=None)
    )).rowcount
    now = time.time()
    for chunk in _chunks(joining):
        await conn.execute(update(m).where(m.c.id.in_(chunk)).values(position=m.c.seq, active_at=now))
    last = await last_on_path(conn, session_id, m.c.role != "tool")
    await conn.execute(
        update(t.sessions).where(t.sessions.c.id == session_id).values(
            active_leaf_id=leaf_id, message_count=length, updated_at=now,
            last_message_at=last["created_at"] if last is not None else None,
        )
    )
    return Moved(int(left or 0), leaf_id, length)


async def switch(conn: AsyncConnection, session: Any, message_id: int) -> Moved:
    """Put ``message_id`` on the active path, followed by the versions below it that were shown last."""
    row = await message_row(conn, session["id"], message_id)
    if row["position"] is not None:
        return Moved(0, session["active_leaf_id"], session["message_count"])
    path = list((await conn.execute(_DOWN, {"id": message_id, "sid": session["id"]})).scalars())
    return await set_leaf(conn, session, int(path[-1]))


async def link_paths(conn: AsyncConnection, session_ids: Sequence[str]) -> None:
    """Rows written with their positions but no parents (an import, a seed) become one path per
    session: each row's parent is the row before it, and the last row is the leaf. Set-based, through
    ``uq_messages_session_position``: two statements per ``CHUNK`` sessions."""
    before = m.alias("before")
    parent = (
        select(before.c.id)
        .where(before.c.session_id == m.c.session_id, before.c.position == m.c.position - 1)
        .scalar_subquery()
    )
    s = t.sessions
    leaf = (
        select(m.c.id).where(m.c.session_id == s.c.id, m.c.position == s.c.message_count - 1).scalar_subquery()
    )
    for chunk in _chunks(list(session_ids)):
        await conn.execute(update(m).where(m.c.session_id.in_(chunk), m.c.position > 0).values(parent_id=parent))
        await conn.execute(update(s).where(s.c.id.in_(chunk)).values(active_leaf_id=leaf))


async def copy_tree(conn: AsyncConnection, source: Any, target_id: str) -> int | None:
    """Copy every message of ``source`` (a session row) into ``target_id``, versions and active path
    included; returns the copy's leaf. The rows are copied by the database (their text never passes
    through here); a copy first holds its original's id in ``parent_id``, which maps the ids."""
    columns = [c.name for c in m.c if c.name not in ("id", "session_id", "parent_id")]
    rows = select(*[m.c[name] for name in columns], literal(target_id), m.c.id).where(
        m.c.session_id == source["id"]
    )
    copied = await conn.execute(
        insert(m).from_select([*columns, "session_id", "parent_id"], rows).returning(m.c.id, m.c.parent_id)
    )
    new_id = {original: copy for copy, original in copied}
    if not new_id:
        return None
    tree = await conn.execute(select(m.c.id, m.c.parent_id).where(m.c.session_id == source["id"]))
    links = [{"copy_id": new_id[original], "new_parent": new_id.get(parent) if parent is not None else None}
             for original, parent in tree]
    await conn.execute(
        update(m).where(m.c.id == bindparam("copy_id")).values(parent_id=bindparam("new_parent")), links
    )
    leaf = source["active_leaf_id"]
    return new_id.get(leaf) if leaf is not None else None


async def clear(conn: AsyncConnection, session_id: str) -> None:
    """Every message goes, every version included (``session/clear``)."""
    await conn.execute(delete(m).where(m.c.session_id == session_id))
    await conn.execute(
        update(t.sessions).where(t.sessions.c.id == session_id).values(active_leaf_id=None, message_count=0)
    )


async def count_rows(conn: AsyncConnection, session_id: str) -> int:
    """Every kept message of a session, on the path or not."""
    query = select(func.count()).select_from(m).where(m.c.session_id == session_id)
    return int((await conn.execute(query)).scalar_one())
