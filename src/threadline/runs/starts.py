"""Starting runs: check the request, store the user message and claim the session in one transaction,
or queue the message when the session is busy; start the next queued message when a session frees up.

Every kind of run starts here, through public calls: chat turns (``start``), btw and background runs
and scheduled firings (``transaction`` + ``StartTx.claim``, so their own rows are written in the same
transaction as the claim). A claimed run is launched only after its transaction has committed.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.agent.runtime import RuntimeRegistry
from threadline.agent.tools.registry import ToolRegistry
from threadline.errors import BadRequest, Conflict
from threadline.runs.endings import RunEndings
from threadline.runs.live import SEQ_RESERVE, LiveRun
from threadline.runs.views import RunQueued, RunStarted
from threadline.sessions import branches
from threadline.sessions.rows import NewMessage
from threadline.sessions.service import SessionService
from threadline.sessions.views import QueuedMessage
from threadline.settings import Settings
from threadline.store import tables as t

MAX_MESSAGE_CHARS = 1_000_000
MAX_ATTACHMENTS = 20
MAX_QUEUE_LOOKS = 8  # a queued message dequeued or refused while the next is checked: look again, this often
_OLDEST_QUEUED = (select(t.runs).where(t.runs.c.session_id == bindparam("session_id"), t.runs.c.status == "queued")
                  .order_by(t.runs.c.created_at).limit(1))


def new_run_id() -> str:
    return uuid.uuid4().hex


@dataclass
class RunSpec:
    """How a run differs from a chat turn (btw, background and scheduled runs use this)."""

    kind: str = "chat"
    tools: ToolRegistry | None = None  # None: the runtime's default tools
    history: list[dict[str, Any]] | None = None  # None: the session's stored context
    on_success: Callable[[LiveRun, str], Awaitable[None]] | None = None  # with the final answer
    on_end: Callable[[LiveRun, str], Awaitable[None]] | None = None  # with the run's final status


@dataclass(frozen=True)
class ChatTurn:
    """A checked chat turn, ready to claim its session."""

    session_id: str
    message: str
    requested_model: str | None
    model: str | None  # the effective reference
    attachments: list[str]
    edit_of: int | None = None  # a user message this turn is a new version of (its sibling)


@dataclass(frozen=True)
class Claim:
    """A run that owns its session and is ready to launch once its transaction commits."""

    run_id: str
    session_id: str
    model: str | None
    runtime: str | None
    workspace: str
    spec: RunSpec


@dataclass
class StartTx:
    """A write transaction in which runs are claimed (``RunStarter.transaction``)."""

    conn: AsyncConnection
    starter: RunStarter
    claims: list[Claim] = field(default_factory=list)

    async def claim(
        self, session_id: str, message: str, *, model: str | None, spec: RunSpec | None = None,
        run_id: str | None = None, attachments: list[str] | None = None, requested_model: str | None = None,
        stored_message: bool = True, row: Any = None,
    ) -> Claim:
        """Store the user message (unless ``stored_message`` is false), record the run and make it
        the session's owner. The session must be free. ``model`` is the checked reference the run
        uses; ``requested_model``, when given, also becomes the session's model. ``row``: the session
        row as this transaction has it (locked), to save reading it again."""
        spec = spec or RunSpec()
        if row is None:
            row = await self.starter.sessions.row(self.conn, session_id)
        if row is None:
            raise BadRequest(f"session not found: {session_id}")
        request = {"message": message, "attachments": attachments or [], "model": requested_model}
        claim = Claim(run_id or new_run_id(), session_id, model, row["runtime"], row["workspace"], spec)
        await self.starter.claim_row(self.conn, claim, request, store_message=stored_message, row=row)
        self.claims.append(claim)
        return claim


class RunStarter:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: SessionService,
        runtimes: RuntimeRegistry,
        endings: RunEndings,
        instance_id: str,
        is_live: Callable[[str], bool],
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.store = sessions.store
        self.runtimes = runtimes
        self.endings = endings
        self.instance_id = instance_id
        self.is_live = is_live

    async def check_model(self, runtime: str | None, requested: str | None, session_model: str | None) -> str | None:
        """The model reference a run will use, checked by its runtime before anything is stored."""
        return await self.runtimes.get(runtime).check(requested or session_model)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[StartTx]:
        """A write transaction in which runs are claimed; the caller launches ``tx.claims`` once it
        has committed."""
        async with self.store.write(inline=True) as conn:
            yield StartTx(conn, self)

    async def prepare(
        self, session_id: str, message: str, *, model: str | None = None, attachments: list[str] | None = None,
        edit_of: int | None = None,
    ) -> ChatTurn:
        """Check a chat turn before any write: the message, the attachments, the session and its
        runtime's model (which may ask a provider, so never inside a write transaction)."""
        if not isinstance(message, str) or not message.strip():
            raise BadRequest("message is required")
        if len(message) > MAX_MESSAGE_CHARS:
            raise BadRequest(f"message is longer than {MAX_MESSAGE_CHARS} characters")
        attachments = [str(a)[:300] for a in (attachments or [])]
        if len(attachments) > MAX_ATTACHMENTS:
            raise BadRequest(f"at most {MAX_ATTACHMENTS} attachments")
        current = await self.sessions.get(session_id, messages=False)
        model_ref = await self.check_model(current.get("runtime"), model, current.get("model"))
        return ChatTurn(session_id, message, model, model_ref, attachments, edit_of)

    async def start(self, tx: StartTx, turn: ChatTurn, *, queue: bool = False) -> RunStarted | RunQueued:
        """Claim the session for ``turn``: 409 while another run owns it, unless ``queue`` (an edit is
        never queued: it moves the active path, which waits for no run)."""
        run_id = new_run_id()
        session_id = turn.session_id
        row = await self.sessions.materialize(tx.conn, session_id)
        if row["active_run_id"] is not None and not await self._clear_if_stale(tx.conn, row):
            if not queue or turn.edit_of is not None:
                raise Conflict("session already has an active stream", active_stream_id=row["active_run_id"])
            request = {"message": turn.message, "attachments": turn.attachments, "model": turn.requested_model}
            await self._insert_run(tx.conn, run_id, session_id, "queued", turn.model, request)
            return {"queued": True, "queue_id": run_id, "session_id": session_id,
                    "active_stream_id": row["active_run_id"]}
        if turn.edit_of is not None:
            edited = await branches.message_row(tx.conn, session_id, turn.edit_of)
            if edited["role"] != "user":
                raise BadRequest("edit_of must be a user message")
            await branches.set_leaf(tx.conn, row, edited["parent_id"])
            row = None  # its active path moved: read again
        await tx.claim(session_id, turn.message, model=turn.model, run_id=run_id, attachments=turn.attachments,
                       requested_model=turn.requested_model, row=row)
        return {"stream_id": run_id, "session_id": session_id, "effective_model": turn.model}

    async def regenerate(
        self, tx: StartTx, session_id: str, message_id: int | None, model: str | None, requested_model: str | None,
    ) -> RunStarted:
        """A new answer to a user message (default: the last one on the active path), beside the answers
        it has: the active path is moved to end at that message and a run starts without a new user
        message. 409 while another run owns the session."""
        m = t.messages
        row = await self.sessions.materialize(tx.conn, session_id)
        if row["active_run_id"] is not None and not await self._clear_if_stale(tx.conn, row):
            raise Conflict("session already has an active stream", active_stream_id=row["active_run_id"])
        if message_id is None:
            asked = await branches.last_on_path(tx.conn, row["id"], m.c.role == "user", m.c.in_context)
            if asked is None:
                raise Conflict("No previous message to retry.")
        else:
            asked = await branches.message_row(tx.conn, row["id"], message_id)
            if asked["role"] != "user" or not asked["in_context"]:
                raise BadRequest("message_id must be a user message of the conversation")
        await branches.set_leaf(tx.conn, row, asked["id"])
        attachments = list((asked["meta"] or {}).get("attachments") or [])
        claim = await tx.claim(session_id, asked["content"], model=model, attachments=attachments,
                               requested_model=requested_model, stored_message=False)
        return {"stream_id": claim.run_id, "session_id": session_id, "effective_model": model,
                "message_id": asked["id"]}

    async def _insert_run(
        self, conn: AsyncConnection, run_id: str, session_id: str, status: str, model: str | None,
        request: dict[str, Any], kind: str = "chat",
    ) -> None:
        now = time.time()
        running = status == "running"
        await conn.execute(
            t.runs.insert().values(
                id=run_id, session_id=session_id, kind=kind, status=status, model=model, request=request,
                owner=self.instance_id if running else None, created_at=now, started_at=now if running else None,
                lease_until=now + self.settings.run_lease_seconds if running else None,
                seq_reserved=SEQ_RESERVE if running else None,
            )
        )

    async def claim_row(
        self, conn: AsyncConnection, claim: Claim, request: dict[str, Any], *, store_message: bool = True,
        replace_queued: bool = False, row: Any = None,
    ) -> None:
        """The claim's rows: its user message (``store_message``), the run, the session's owner; with
        ``row`` (the session row as this transaction has it) in three statements."""
        # The message the run's turn follows: its user message's parent, or for a regenerated answer the
        # user message itself. Nothing moves the active path while the run owns the session.
        leaf = row["active_leaf_id"] if row is not None else await branches.leaf(conn, claim.session_id)
        request = {**request, "branch_from": leaf}
        owner: dict[str, Any] = {"active_run_id": claim.run_id}
        if request.get("model"):
            owner["model"] = request["model"]
        if replace_queued:
            await conn.execute(t.runs.delete().where(t.runs.c.id == claim.run_id))
        await self._insert_run(conn, claim.run_id, claim.session_id, "running", claim.model, request, claim.spec.kind)
        if store_message:  # the message and the owner in one UPDATE of the session
            meta = {"attachments": request["attachments"]} if request.get("attachments") else {}
            await self.sessions.append_message(
                conn, claim.session_id, NewMessage(role="user", content=request["message"], meta=meta),
                run_id=claim.run_id, row=row, session_changes=owner,
            )
        else:
            await conn.execute(update(t.sessions).where(t.sessions.c.id == claim.session_id).values(**owner))

    async def _clear_if_stale(self, conn: AsyncConnection, row: Any) -> bool:
        """A session whose owner run is not live here and whose lease ran out is freed."""
        run_id = row["active_run_id"]
        if self.is_live(run_id):
            return False
        run = (await conn.execute(select(t.runs).where(t.runs.c.id == run_id))).mappings().first()
        if run is not None and run["status"] == "running" and (run["lease_until"] or 0) > time.time():
            return False
        await self.endings.mark_interrupted(conn, run_id, row["id"])
        return True

    # -- the queue -------------------------------------------------------------------------------

    async def start_next(self, session_id: str) -> Claim | None:
        """Claim the oldest queued message of a free session (the caller launches it). Its model is
        checked first, outside any write transaction (the check may ask a provider, and on SQLite
        every other write would wait for it); the claim then takes the session only if nothing
        changed meanwhile, else it looks again. A message whose model is refused fails, and the next
        one is tried."""
        for _attempt in range(MAX_QUEUE_LOOKS):
            async with self.store.read() as conn:
                queued = await self._oldest_queued(conn, session_id)  # first: most sessions queue nothing
                if queued is None:
                    return None
                row = await self.sessions.row(conn, session_id)
                if row is None or row["active_run_id"] is not None:
                    return None
            request = dict(queued["request"] or {})
            refused: BadRequest | None = None
            model_ref: str | None = None
            try:
                model_ref = await self.check_model(row["runtime"], request.get("model"), row["model"])
            except BadRequest as exc:
                refused = exc
            async with self.store.write(inline=True) as conn:
                now = await self.sessions.row(conn, session_id, lock=True)
                if now is None or now["active_run_id"] is not None:
                    return None
                oldest = await self._oldest_queued(conn, session_id)
                if oldest is None:
                    return None
                if oldest["id"] != queued["id"] or (now["runtime"], now["model"]) != (row["runtime"], row["model"]):
                    continue  # dequeued, or the session's model changed, while the model was checked
                if refused is not None:
                    await self.endings.set_run(conn, queued["id"], "failed",
                                               error={"type": "model_not_found", "message": refused.message})
                    continue
                claim = Claim(queued["id"], session_id, model_ref, now["runtime"], now["workspace"], RunSpec())
                await self.claim_row(conn, claim, request, replace_queued=True)
            return claim
        return None

    async def _oldest_queued(self, conn: AsyncConnection, session_id: str) -> Any:
        return (await conn.execute(_OLDEST_QUEUED, {"session_id": session_id})).mappings().first()

    async def queued(self, session_id: str) -> list[QueuedMessage]:
        r = t.runs
        async with self.store.read() as conn:
            rows = await conn.execute(
                select(r.c.id, r.c.request, r.c.created_at)
                .where(r.c.session_id == session_id, r.c.status == "queued").order_by(r.c.created_at)
            )
            return [{"id": x.id, "message": (x.request or {}).get("message", ""), "created_at": x.created_at}
                    for x in rows]

    async def dequeue(self, session_id: str, queue_id: str) -> bool:
        r = t.runs
        async with self.store.write(inline=True) as conn:
            result = await conn.execute(
                r.delete().where(r.c.id == queue_id, r.c.session_id == session_id, r.c.status == "queued")
            )
            return bool(result.rowcount)
