"""The session lifecycle service (DESIGN §3): drafts, materialize-on-first-real-state, the list, and the
operations that change a session. Nothing here knows about HTTP.

A session row is written the first time it has real state; until then it is a ``Draft``. Every write
that may be the first one goes through ``_materialize``, inside the same write transaction.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.errors import BadRequest, Conflict, NotFound
from threadline.jsonvalues import readable
from threadline.sessions import branches
from threadline.sessions.cursors import decode_cursor, encode_cursor
from threadline.sessions.drafts import Draft, DraftStore, merge_extra
from threadline.sessions.feed import SessionFeed
from threadline.sessions.rows import NewMessage
from threadline.sessions.views import (
    BUILTIN_RUNTIME,
    UNTITLED,
    MessagePublic,
    SessionDetail,
    SessionPublic,
    SessionsPublic,
    draft_public,
    empty_window,
    message_public,
    session_detail,
    session_public,
)
from threadline.sessions.workspaces import SavedWorkspaces
from threadline.settings import Settings
from threadline.store import tables as t
from threadline.store.engine import Store
from threadline.workspace.roots import check_workspace

TITLE_MAX = 80
RUNTIME_STATE = "runtime_state"  # the key in ``sessions.extra`` of what runtimes keep with a session


def new_session_id() -> str:
    return uuid.uuid4().hex[:12]


# The statements every write and read of a session makes, built once: building a statement and its
# cache key again on each call cost a third of a one-row read's time.
_ROW = select(t.sessions).where(t.sessions.c.id == bindparam("session_id"))
_ROW_LOCKED = _ROW.with_for_update()
_OWNERS = (select(t.sessions.c.id, t.sessions.c.active_run_id)
           .where(t.sessions.c.id.in_(bindparam("session_ids", expanding=True)))
           .order_by(t.sessions.c.id).with_for_update())


def check_session_id(session_id: object) -> str:
    if not isinstance(session_id, str) or not session_id:
        raise BadRequest("session_id is required")
    if len(session_id) > 64 or not all(c.isdigit() or "a" <= c <= "z" or c == "_" for c in session_id):
        raise NotFound(f"session not found: {session_id[:64]}")
    return session_id


def clean_title(title: object) -> str:
    if not isinstance(title, str):
        raise BadRequest("title must be a string")
    cleaned = " ".join(title.split())[:TITLE_MAX]
    return cleaned or UNTITLED


def visible_clause(*, scanning: bool = False) -> Any:
    """The list rule: chat sessions only, never an Untitled one with zero messages. ``scanning`` is
    for a query that reads every row anyway (a substring match on titles): comparing ``kind || ''``
    keeps SQLite from walking the list index and fetching each row from it (about 100 ms for 100,000
    sessions) instead of scanning the table once (about 15 ms)."""
    s = t.sessions
    kind = (s.c.kind + "") if scanning else s.c.kind
    return and_(kind == "chat", ~and_(s.c.message_count == 0, s.c.title == UNTITLED))


class SessionService:
    def __init__(self, store: Store, drafts: DraftStore, settings: Settings) -> None:
        self.store = store
        self.drafts = drafts
        self.settings = settings
        self.workspaces = SavedWorkspaces(store, settings)
        self.feed = SessionFeed()

    def changed(self, conn: AsyncConnection, reason: str, session_id: str, **fields: Any) -> None:  # once committed
        self.store.after_commit(conn, self.feed.publisher(reason, session_id, **fields))

    # -- identity and lookup -------------------------------------------------------------------

    def resolve_workspace(self, raw: str | None) -> str:
        if raw is None or raw == "":
            default = self.settings.resolved_default_workspace
            default.mkdir(parents=True, exist_ok=True)
            return str(default)
        return str(check_workspace(raw, self.settings.resolved_workspace_roots, state_dir=self.settings.home))

    async def create_draft(
        self, *, workspace: str | None = None, model: str | None = None, runtime: str | None = None
    ) -> SessionPublic:
        """``runtime`` is a checked runtime name (the web layer checks it against the registry). Without
        a workspace the draft gets the last one used (``SavedWorkspaces.choose``); a workspace given is
        remembered as the last one used."""
        chosen = await self.workspaces.choose(workspace)
        if workspace:
            await self.workspaces.used(chosen)
        draft = Draft(
            id=new_session_id(),
            workspace=chosen,
            model=model or self.settings.default_model,
            runtime=runtime,
        )
        await self.drafts.put(draft)
        return draft_public(draft)

    async def row(self, conn: AsyncConnection, session_id: str, *, lock: bool = False) -> Any:
        """The session row; ``lock`` (in a write transaction) locks it until the transaction ends, so
        a read-check-write on it is safe on PostgreSQL (SQLite has one writer anyway)."""
        return (await conn.execute(_ROW_LOCKED if lock else _ROW, {"session_id": session_id})).mappings().first()

    async def owners(self, conn: AsyncConnection, session_ids: list[str]) -> dict[str, str | None]:
        """Each session's ``active_run_id``, the rows locked (in id order, so batches never deadlock)."""
        rows = await conn.execute(_OWNERS, {"session_ids": sorted(set(session_ids))})
        return {row.id: row.active_run_id for row in rows}

    async def get(
        self,
        session_id: str,
        *,
        messages: bool = True,
        msg_limit: int | None = None,
        msg_before: int | None = None,
    ) -> SessionDetail:
        session_id = check_session_id(session_id)
        async with self.store.read() as conn:
            row = await self.row(conn, session_id)
            if row is None:
                draft = await self.drafts.get(session_id)
                if draft is None:
                    return await self._get_materialized(session_id, messages, msg_limit, msg_before)
                return session_detail(draft_public(draft), empty_window() if messages else None)
            page = await branches.window(conn, row, msg_limit, msg_before) if messages else None
            return session_detail(session_public(row), page)

    async def _get_materialized(
        self, session_id: str, messages: bool, msg_limit: int | None, msg_before: int | None
    ) -> SessionDetail:
        """Neither a row nor a draft: the draft may have been materialized since the first look (a
        draft is discarded only after its row is committed), so look once more in a new transaction."""
        async with self.store.read() as conn:
            if await self.row(conn, session_id) is None:
                raise NotFound(f"session not found: {session_id}")
        return await self.get(session_id, messages=messages, msg_limit=msg_limit, msg_before=msg_before)

    async def context_messages(self, session_id: str) -> list[MessagePublic]:
        """The active path as the model sees it: in-context rows only, in order."""
        async with self.store.read() as conn:
            return await branches.context_rows(conn, session_id)

    # -- materialization -----------------------------------------------------------------------

    async def materialize(self, conn: AsyncConnection, session_id: str, **values: Any) -> Any:
        """Return the session row, writing it from its draft first if it has none yet."""
        session_id = check_session_id(session_id)
        row = await self.row(conn, session_id, lock=True)
        if row is not None:
            return row
        draft = await self.drafts.get(session_id)
        if draft is None:
            raise NotFound(f"session not found: {session_id}")
        now = time.time()
        record = {
            "id": draft.id,
            "title": UNTITLED,
            "workspace": draft.workspace,
            "model": draft.model,
            "runtime": draft.runtime,
            "created_at": draft.created_at,
            "updated_at": now,
            "sort_at": draft.created_at,
            "extra": draft.extra,
        }
        record.update(values)
        inserted = await conn.execute(self.store.dialect.insert_ignore(t.sessions, record).returning(*t.sessions.c))
        row = inserted.mappings().first()  # None: another transaction wrote it first
        # Only once the row is committed: until then a concurrent reader must still find the draft.
        self.store.after_commit(conn, lambda: self.drafts.discard(session_id))
        self.changed(conn, "created", session_id)
        return row if row is not None else await self.row(conn, session_id, lock=True)

    async def create_row(self, conn: AsyncConnection, **values: Any) -> Any:
        """Write a session that never was a draft (btw, background, import, duplicate)."""
        now = time.time()
        record: dict[str, Any] = {
            "id": new_session_id(),
            "title": UNTITLED,
            "created_at": now,
            "updated_at": now,
            "sort_at": now,
            "extra": {},
        }
        record.update(values)
        await conn.execute(insert(t.sessions).values(**record))
        if record.get("kind", "chat") == "chat":
            self.changed(conn, "created", record["id"])
        return await self.row(conn, record["id"])

    # -- messages ------------------------------------------------------------------------------

    async def append_message(
        self,
        conn: AsyncConnection,
        session_id: str,
        message: NewMessage,
        *,
        run_id: str | None = None,
        row: Any = None,
        session_changes: dict[str, Any] | None = None,
    ) -> MessagePublic:
        """Append one message to the end of the active path: one INSERT and one UPDATE, whatever the
        transcript's length or number of versions. ``row``: the session row as this transaction has
        it (locked), not read again; ``session_changes``: more columns for the same UPDATE."""
        if row is None:
            row = await self.materialize(conn, session_id)
        now = time.time()
        seq = row["message_count"]
        values = message.values(row["id"], seq, run_id, now, parent_id=row["active_leaf_id"])
        result = await conn.execute(insert(t.messages).values(**values))
        key = result.inserted_primary_key
        assert key is not None  # both dialects return the new id
        values["id"] = key[0]
        changes: dict[str, Any] = {**(session_changes or {}), "message_count": seq + 1, "active_leaf_id": values["id"],
                                   "updated_at": now}
        if message.role != "tool":
            changes.update(last_message_at=values["created_at"], sort_at=max(values["created_at"], row["sort_at"]))
        await conn.execute(update(t.sessions).where(t.sessions.c.id == row["id"]).values(**changes))
        return message_public(readable(values))

    async def append_user_message(
        self, session_id: str, text: str, *, attachments: list[str] | None = None
    ) -> MessagePublic:
        """Store the user's turn durably, materializing a draft. The chat engine calls this before
        a run starts."""
        meta = {"attachments": attachments} if attachments else {}
        async with self.store.write() as conn:
            return await self.append_message(conn, session_id, NewMessage(role="user", content=text, meta=meta))

    async def save_runtime_state(
        self, conn: AsyncConnection, session_id: str, runtime: str | None, state: dict[str, Any]
    ) -> None:
        s = t.sessions
        extra = dict((await conn.execute(select(s.c.extra).where(s.c.id == session_id))).scalar() or {})
        states = dict(extra.get(RUNTIME_STATE) or {})
        states[runtime or BUILTIN_RUNTIME] = state
        extra[RUNTIME_STATE] = states
        await conn.execute(update(s).where(s.c.id == session_id).values(extra=extra))

    async def set_row(self, conn: AsyncConnection, session_id: str, **values: Any) -> None:
        await conn.execute(update(t.sessions).where(t.sessions.c.id == session_id).values(**values))

    async def update_message(self, conn: AsyncConnection, message_id: int, **values: Any) -> None:
        await conn.execute(update(t.messages).where(t.messages.c.id == message_id).values(**values))

    # -- the list ------------------------------------------------------------------------------

    async def list(
        self,
        *,
        limit: int = 100,
        cursor: str | None = None,
        archived: str = "0",
        project_id: str | None = None,
    ) -> SessionsPublic:
        s = t.sessions
        limit = max(1, min(limit, self.settings.session_list_max))
        query = select(s).where(visible_clause())
        if archived in ("0", "1"):
            query = query.where(s.c.archived == (archived == "1"))
        elif archived != "all":
            raise BadRequest("archived must be 0, 1 or all")
        if project_id:
            query = query.where(s.c.project_id == project_id)
        if cursor:
            pinned, sort_at, sid = decode_cursor(cursor)
            query = query.where(tuple_(s.c.pinned, s.c.sort_at, s.c.id) < tuple_(bool(pinned), sort_at, sid))
        query = query.order_by(s.c.pinned.desc(), s.c.sort_at.desc(), s.c.id.desc()).limit(limit + 1)
        async with self.store.read() as conn:
            rows = list((await conn.execute(query)).all())
        next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
        return {"sessions": [session_public(r._mapping) for r in rows[:limit]], "next_cursor": next_cursor}

    async def count_rows(self) -> int:
        async with self.store.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(t.sessions))).scalar_one())

    # -- metadata ------------------------------------------------------------------------------

    async def _set(self, session_id: str, *, reason: str = "updated", touch: bool = True,
                   **values: Any) -> SessionPublic:
        """Change a session's own fields: one ``UPDATE ... RETURNING`` (the row locked by the update
        itself), or, for a draft, its row written first. Under load every round trip to PostgreSQL
        waits for the busy event loop: a rename made three (lock, update, read back)."""
        session_id = check_session_id(session_id)
        if touch:
            values["updated_at"] = time.time()
        s = t.sessions
        change = update(s).where(s.c.id == session_id).values(**values).returning(*s.c)
        async with self.store.write(inline=True) as conn:
            row = (await conn.execute(change)).mappings().first()
            if row is None:  # a draft (or no such session: ``materialize`` says so)
                await self.materialize(conn, session_id)
                row = (await conn.execute(change)).mappings().one()
            self.changed(conn, reason, session_id, **({"title": values["title"]} if "title" in values else {}))
            return session_public(row)

    async def rename(self, session_id: str, title: object) -> SessionPublic:
        return await self._set(session_id, reason="renamed", title=clean_title(title))

    async def set_pinned(self, session_id: str, pinned: bool) -> SessionPublic:
        return await self._set(session_id, reason="pinned", pinned=pinned)

    async def set_archived(self, session_id: str, archived: bool) -> SessionPublic:
        return await self._set(session_id, reason="archived", archived=archived)

    async def move(self, session_id: str, project_id: str | None) -> SessionPublic:
        if project_id is not None:
            async with self.store.read() as conn:
                found = await conn.execute(select(t.projects.c.id).where(t.projects.c.id == project_id))
                if found.first() is None:
                    raise NotFound(f"project not found: {project_id}")
        return await self._set(session_id, reason="moved", project_id=project_id)

    async def update(
        self, session_id: str, *, workspace: str | None = None, model: str | None = None,
        runtime: str | None = None, extra: dict[str, Any] | None = None,
    ) -> SessionDetail:
        """Change the workspace, model or runtime (a checked name; ``""`` means the built-in one), and
        keys of ``extra`` (checked values; ``None`` removes a key: the session's ``instructions`` and
        ``persona``). On a draft this changes the draft: choosing a model for an empty chat is not yet
        real state."""
        session_id = check_session_id(session_id)
        changes: dict[str, Any] = {}
        if workspace is not None:
            changes["workspace"] = await self.workspaces.choose(workspace, last=False)
        if model is not None:
            changes["model"] = model or None
        if runtime is not None:
            changes["runtime"] = runtime or None
        draft = await self.drafts.get(session_id)
        stored = None
        if draft is not None:
            async with self.store.read() as conn:
                stored = await self.row(conn, session_id)
            if stored is None:
                for key, value in changes.items():
                    setattr(draft, key, value)
                draft.extra = merge_extra(draft.extra, extra or {})
                await self.drafts.put(draft)
                if workspace:
                    await self.workspaces.used(changes["workspace"])
                return await self.get(session_id)
        async with self.store.write(inline=True) as conn:
            row = await self.materialize(conn, session_id)
            if extra:
                changes["extra"] = merge_extra(row["extra"] or {}, extra)
            changes["updated_at"] = time.time()
            await conn.execute(update(t.sessions).where(t.sessions.c.id == row["id"]).values(**changes))
        if workspace:
            await self.workspaces.used(changes["workspace"])
        return await self.get(session_id)

    async def delete(self, session_id: str) -> bool:
        """Delete a session, its messages, runs and child (btw/background) sessions. Idempotent."""
        session_id = check_session_id(session_id)
        await self.drafts.discard(session_id)
        async with self.store.write() as conn:
            row = await self.row(conn, session_id, lock=True)
            if row is None:
                return False
            self.require_idle(row)
            await conn.execute(delete(t.sessions).where(t.sessions.c.id == session_id))
            self.changed(conn, "deleted", session_id)
        return True

    @staticmethod
    def require_idle(row: Any) -> None:
        if row["active_run_id"] is not None:
            raise Conflict("session has an active run", active_stream_id=row["active_run_id"])

