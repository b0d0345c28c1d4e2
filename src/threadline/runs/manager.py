"""The run layer's front door: one live run per session, a server-side queue, cancel, recovery, and
the event stream. It wires four collaborators, each owning one concept:

    RunStarter   (starts.py)    check, store the user message, claim the session, queue
    RunExecutor  (executor.py)  the task behind each live run: runtime, checkpoints, endings
    RunRecovery  (recovery.py)  runs whose process died: at start-up and in lease sweeps
    RunReader    (reader.py)    events (live, relayed or replayed) and status

Other instances (``RunRelay``, ``OwnerRelay``) and listeners (``RunListener``: the cluster's event
mirror, background-task delivery, metrics) are passed in; nothing is patched in afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Sequence
from typing import Any

from threadline.agent.providers.registry import ProviderRegistry
from threadline.agent.runtime import RuntimeRegistry
from threadline.preferences import PreferenceService
from threadline.runs.approvals import ApprovalBroker
from threadline.runs.batchstarts import StartBatcher
from threadline.runs.clarify import ClarifyBroker
from threadline.runs.endings import RunEndings
from threadline.runs.executor import RunExecutor
from threadline.runs.instructions import Instructions
from threadline.runs.leases import LeaseKeeper
from threadline.runs.live import LiveRun, RunEvent
from threadline.runs.reader import RunReader
from threadline.runs.recovery import RunRecovery
from threadline.runs.relay import EndedRun, OwnerRelay, RunListener, RunRelay
from threadline.runs.starts import Claim, RunStarter, StartTx
from threadline.runs.steering import Steering
from threadline.runs.views import RunQueued, RunStarted, RunStatus
from threadline.sessions.service import SessionService
from threadline.sessions.views import QueuedMessage
from threadline.settings import Settings

LOOP_STALL_SECONDS = 60.0  # a loop that has not ticked for this long no longer has its leases renewed


class RunManager:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: SessionService,
        providers: ProviderRegistry,
        preferences: PreferenceService,
        runtimes: RuntimeRegistry,
        instance_id: str,
        relay: RunRelay | None = None,
        owner_relay: OwnerRelay | None = None,
        listeners: Sequence[RunListener] = (),
        instructions: Instructions | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.store = sessions.store
        self.runtimes = runtimes
        self.instance_id = instance_id
        # A question's mark on its session (the list's "needs approval"/"needs input") is news for the
        # session list feed: every tab re-reads the row, so none keeps a state read just before it.
        marked = functools.partial(sessions.feed.publish, "updated")
        self.approvals = ApprovalBroker(self.store, settings.approval_timeout_seconds, relay=owner_relay,
                                        on_mark=marked)
        self.clarify = ClarifyBroker(self.store, settings.clarify_timeout_seconds, relay=owner_relay, on_mark=marked)
        self.steering = Steering(sessions, relay=owner_relay)
        self.endings = RunEndings(settings=settings, sessions=sessions, providers=providers, preferences=preferences)
        everyone = [_QueueAdvance(self), *listeners]
        self.executor = RunExecutor(settings=settings, sessions=sessions, runtimes=runtimes,
                                    approvals=self.approvals, clarify=self.clarify, steering=self.steering,
                                    endings=self.endings,
                                    instructions=instructions or Instructions(), listeners=everyone)
        self.starter = RunStarter(settings=settings, sessions=sessions, runtimes=runtimes, endings=self.endings,
                                  instance_id=instance_id, is_live=self.executor.is_live)
        self.batch = StartBatcher(self.starter, self._launch) if self.store.is_sqlite else None
        self.recovery = RunRecovery(store=self.store, endings=self.endings, instance_id=instance_id,
                                    lease_seconds=settings.run_lease_seconds, live=lambda: list(self.executor.live),
                                    start_next=self.start_next, listeners=listeners)
        self.leases = LeaseKeeper(
            url=self.store.url, instance_id=instance_id, lease_seconds=settings.run_lease_seconds,
            live_ids=lambda: self.executor.live_ids, loop_ticked=lambda: self.executor.checkpoints.last_tick,
            stall_seconds=max(LOOP_STALL_SECONDS, settings.run_lease_seconds * 4),
        )
        self.reader = RunReader(self.store, self.executor.live.get, relay)
        self.relay = relay

    @property
    def live(self) -> dict[str, LiveRun]:
        return self.executor.live

    def active_count(self) -> int:
        return self.executor.active_count()

    # -- starting --------------------------------------------------------------------------------

    async def start(
        self,
        session_id: str,
        message: str,
        *,
        model: str | None = None,
        attachments: list[str] | None = None,
        queue: bool = False,
        edit_of: int | None = None,
    ) -> RunStarted | RunQueued:
        """A chat turn. 409 while another run owns the session, unless ``queue``. With ``edit_of`` (a
        user message) the turn is a new version of that message: the old one and what followed it stay."""
        turn = await self.starter.prepare(session_id, message, model=model, attachments=attachments, edit_of=edit_of)
        if self.batch is not None:  # SQLite: claimed together with the turns that wait for the writer too
            return await self.batch.start(turn, queue=queue)
        async with self.transaction() as tx:
            result = await self.starter.start(tx, turn, queue=queue)
        return result

    async def regenerate(
        self, session_id: str, message_id: int | None = None, *, model: str | None = None
    ) -> RunStarted:
        """A new version of the answer to a user message; the earlier answers stay. 409 while a run is live."""
        current = await self.sessions.get(session_id, messages=False)
        model_ref = await self.check_model(current.get("runtime"), model, current.get("model"))
        async with self.transaction() as tx:
            result = await self.starter.regenerate(tx, session_id, message_id, model_ref, model)
        return result

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[StartTx]:
        """A write transaction in which runs are claimed (``tx.claim``); they start once it commits."""
        async with self.starter.transaction() as tx:
            yield tx
        self._launch(tx.claims)

    async def check_model(self, runtime: str | None, requested: str | None, session_model: str | None) -> str | None:
        return await self.starter.check_model(runtime, requested, session_model)

    async def start_next(self, session_id: str) -> str | None:
        claim = await self.starter.start_next(session_id)
        if claim is None:
            return None
        self._launch([claim])
        return claim.run_id

    def _launch(self, claims: list[Claim]) -> None:
        for claim in claims:
            self.executor.launch(claim)

    async def queued(self, session_id: str) -> list[QueuedMessage]:
        return await self.starter.queued(session_id)

    async def dequeue(self, session_id: str, queue_id: str) -> bool:
        return await self.starter.dequeue(session_id, queue_id)

    # -- stopping --------------------------------------------------------------------------------

    async def cancel(self, run_id: str) -> bool:
        """Stop a run; returns once its partial text is stored and its session free."""
        if run_id not in self.executor.live and self.relay is not None:
            return await self.relay.cancel(run_id)
        return await self.executor.cancel(run_id)

    async def recover(self, *, only_expired: bool = False) -> int:
        """Take over what a previous process left, then keep this instance's leases alive. Leases are
        read only by the sweeps of other instances (``threadline.cluster``, with Redis): a lone
        process does not renew them, which on SQLite would take the one write lock every few seconds
        for nothing (and, measured under load, hold renames behind it)."""
        recovered = await self.recovery.recover(only_expired=only_expired)
        self.executor.checkpoints.start()
        if self.settings.redis_url:
            self.leases.start()
        return recovered

    async def sweep(self) -> dict[str, RunEvent]:
        return await self.recovery.sweep()

    async def close(self) -> None:
        await self.executor.close()
        await asyncio.to_thread(self.leases.close)

    # -- reading ---------------------------------------------------------------------------------

    async def run_row(self, run_id: str) -> Any:
        return await self.reader.run_row(run_id)

    def events(self, run_id: str, after_seq: int, heartbeat: float) -> AsyncIterator[list[RunEvent] | None]:
        return self.reader.events(run_id, after_seq, heartbeat)

    async def status(self, run_id: str) -> RunStatus:
        return await self.reader.status(run_id)


class _QueueAdvance:
    """When a session's run ends, its next queued message starts."""

    def __init__(self, runs: RunManager) -> None:
        self.runs = runs

    def run_started(self, live: LiveRun) -> None:
        return None

    async def run_ended(self, ended: EndedRun) -> None:
        await self.runs.start_next(ended.session_id)
