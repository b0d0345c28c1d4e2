"""Questions a run waits on until the user answers: the part approvals and clarify share.

    Waiting       one question: its id, session, run, time, and the future its answer arrives on
    WaitingRoom   per-session queues of waiting questions, oldest first; the wait with its timeout;
                  answers; the end of a cancelled run's waits; and the session's mark in ``extra``
                  (``pending_approval``, ``pending_clarify``), which names the run while a question
                  waits, so the list and ``GET /api/session`` say "needs approval" / "needs input" on
                  every instance and after reloads (``sessions.views``)
    WaitingBroker a room plus the instance that runs the session: what waits, here or there, and
                  answers relayed to it (``OwnerRelay``); approvals and clarify are brokers
    edit_extra    one read-modify-write of a session's ``extra`` in a write transaction

An answer is a string; ``None`` means nobody answered (the timeout, or a question given up).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from sqlalchemy import select, update

from threadline.store import tables as t
from threadline.store.engine import Store

if TYPE_CHECKING:
    from threadline.runs.relay import OwnerRelay, RelayHandler

log = logging.getLogger("threadline.runs")

Announce = Callable[[dict[str, Any]], Awaitable[None]]


def _future() -> asyncio.Future[str | None]:
    return asyncio.get_running_loop().create_future()


@dataclass(kw_only=True)
class Waiting:
    session_id: str
    run_id: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created_at: float = field(default_factory=time.time)
    future: asyncio.Future[str | None] = field(default_factory=_future, repr=False)

    def public(self) -> dict[str, Any]:
        """The question as the API and the stream show it."""
        raise NotImplementedError


W = TypeVar("W", bound=Waiting)


async def edit_extra(store: Store, session_id: str, edit: Callable[[dict[str, Any]], bool]) -> bool:
    """Apply ``edit`` to the session's ``extra`` in one write transaction; False without a row.
    ``edit`` returns whether it changed anything."""
    s = t.sessions
    async with store.write(inline=True) as conn:
        row = (await conn.execute(select(s.c.extra).where(s.c.id == session_id))).first()
        if row is None:
            return False
        extra: dict[str, Any] = dict(row.extra) if isinstance(row.extra, dict) else {}
        if edit(extra):
            await conn.execute(update(s).where(s.c.id == session_id).values(extra=extra))
        return True


class WaitingRoom(Generic[W]):
    def __init__(self, store: Store, mark: str, on_mark: Callable[[str], object] | None = None) -> None:
        self.store = store
        self.mark = mark  # the key of ``sessions.extra`` that says a question waits
        self.on_mark = on_mark  # told a session's mark changed (the session list feed: other tabs, badges)
        self._queues: dict[str, list[W]] = {}

    def queue(self, session_id: str) -> list[W]:
        """The session's waiting questions, oldest first."""
        return list(self._queues.get(session_id, ()))

    def find(self, session_id: str, item_id: str | None = None) -> W | None:
        """The question with ``item_id``, else the oldest."""
        return next((w for w in self._queues.get(session_id, ()) if item_id is None or w.id == item_id), None)

    async def wait(self, item: W, announce: Announce, timeout: float) -> str | None:
        """Queue ``item``, mark its session, announce it and wait for its answer (``None`` after
        ``timeout``). Whoever else waits on it (``join``) gets the same answer."""
        self._queues.setdefault(item.session_id, []).append(item)
        try:
            await self._mark(item.session_id)
            await announce(item.public())
            return await self.join(item, timeout)
        finally:
            queue = self._queues.get(item.session_id, [])
            if item in queue:
                queue.remove(item)
            if not queue:
                self._queues.pop(item.session_id, None)
            self.answer(item, None)  # a timed-out or abandoned question ends for every waiter
            await self._mark(item.session_id)

    @staticmethod
    async def join(item: W, timeout: float) -> str | None:
        try:
            return await asyncio.wait_for(asyncio.shield(item.future), timeout=timeout)
        except TimeoutError:
            return None

    @staticmethod
    def answer(item: W, value: str | None) -> bool:
        """Wake the waiters of ``item``; False when it was already answered."""
        if item.future.done():
            return False
        item.future.set_result(value)
        return True

    def cancel_run(self, run_id: str, value: str | None) -> None:
        """Answer ``value`` to whatever a cancelled run waits for."""
        for queue in list(self._queues.values()):
            for item in list(queue):
                if item.run_id == run_id:
                    self.answer(item, value)

    async def _mark(self, session_id: str) -> None:
        """Point the session's mark at its oldest waiting question, or remove it. Best effort: a mark
        left behind is ignored, as it names a run that is no longer active."""

        changed = False

        def edit(extra: dict[str, Any]) -> bool:
            nonlocal changed
            oldest = self.find(session_id)
            if oldest is None:
                changed = extra.pop(self.mark, None) is not None
                return changed
            mark = {"run_id": oldest.run_id, "id": oldest.id, "requested_at": oldest.created_at}
            changed = extra.get(self.mark) != mark
            extra[self.mark] = mark
            return True

        try:
            await edit_extra(self.store, session_id, edit)
        except Exception:
            log.warning("could not update the %s mark of session %s", self.mark, session_id, exc_info=True)
            return
        if changed and self.on_mark is not None:
            self.on_mark(session_id)


class WaitingBroker(Generic[W]):
    """The questions of one kind (``room``) and the relay to the instance that runs a session."""

    PENDING_OP: ClassVar[str]  # the relay's names for "what waits" and "answer it"
    RESPOND_OP: ClassVar[str]

    def __init__(self, store: Store, mark: str, relay: OwnerRelay | None,
                 on_mark: Callable[[str], object] | None = None) -> None:
        self.store = store
        self.room: WaitingRoom[W] = WaitingRoom(store, mark, on_mark)
        self.relay = relay

    def pending(self, session_id: str) -> list[dict[str, Any]]:
        return [item.public() for item in self.room.queue(session_id)]

    async def pending_anywhere(self, session_id: str) -> list[dict[str, Any]]:
        """``pending``, asking the instance that runs the session when it is not this one."""
        local = self.pending(session_id)
        if local or self.relay is None:
            return local
        return list(await self.relay.call_owner(session_id, self.PENDING_OP, {"session_id": session_id}) or [])

    async def relay_answer(self, session_id: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """Hand an answer to the instance that runs the session; ``None`` when none other does."""
        if self.relay is None:
            return None
        answer = await self.relay.call_owner(session_id, self.RESPOND_OP, args)
        return dict(answer) if answer else None

    async def answer_relayed(self, args: dict[str, Any]) -> dict[str, Any]:
        """Answer, here, what another instance relayed (``relay_answer``'s ``args``)."""
        raise NotImplementedError

    def relay_handlers(self) -> dict[str, RelayHandler]:
        """What another instance may ask of this one about the questions waiting here."""

        async def pending(args: dict[str, Any]) -> list[dict[str, Any]]:
            return self.pending(str(args["session_id"]))

        return {self.PENDING_OP: pending, self.RESPOND_OP: self.answer_relayed}
