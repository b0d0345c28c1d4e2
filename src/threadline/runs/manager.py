"""The run manager: one active run per session, a server-side queue, cancel, crash recovery.

    start()   stores the user message and claims the session (``active_run_id``) in one transaction,
              then runs the agent in a task; with ``queue=True`` a busy session queues the message.
    cancel()  stops the task, keeps the partial text, adds a cancel marker and frees the session
              before it returns.
    recover() at start-up marks runs left ``running`` as ``interrupted`` and frees their sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.agent.events import ProviderError
from threadline.agent.loop import run_agent
from threadline.agent.providers.base import Provider
from threadline.agent.providers.registry import ProviderRegistry
from threadline.agent.tools.base import ToolContext
from threadline.agent.tools.registry import ToolRegistry, default_tools
from threadline.errors import BadRequest, Conflict, NotFound
from threadline.preferences import PreferenceService
from threadline.runs.approvals import ApprovalBroker
from threadline.runs.context import model_history, system_prompt
from threadline.runs.endings import RunEndings, uncancellable
from threadline.runs.live import LiveRun, RunEvent, flush_events, stored_events
from threadline.runs.recorder import NotOwner, Recorder
from threadline.sessions.service import NewMessage, SessionService
from threadline.settings import Settings
from threadline.store import tables as t
from threadline.workspaces import Jail

if TYPE_CHECKING:
    from threadline.cluster.relay import RunRelay

log = logging.getLogger("threadline.runs")

MAX_MESSAGE_CHARS = 1_000_000
MAX_ATTACHMENTS = 20


def new_run_id() -> str:
    return uuid.uuid4().hex


@dataclass
class RunSpec:
    """How a run differs from a chat turn (btw and background runs use this)."""

    kind: str = "chat"
    tools: ToolRegistry | None = None  # None: the default workspace tools
    history: list[dict[str, Any]] | None = None  # None: the session's stored context
    on_success: Callable[[LiveRun, str], Awaitable[None]] | None = None  # with the final answer
    on_end: Callable[[LiveRun, str], Awaitable[None]] | None = None  # with the run's final status


SessionHook = Callable[[str], Awaitable[None]]


class RunManager:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: SessionService,
        providers: ProviderRegistry,
        preferences: PreferenceService,
        instance_id: str,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.store = sessions.store
        self.providers = providers
        self.preferences = preferences
        self.instance_id = instance_id
        self.approvals = ApprovalBroker(self.store, settings.approval_timeout_seconds)
        self.endings = RunEndings(settings=settings, sessions=sessions, providers=providers, preferences=preferences)
        self.live: dict[str, LiveRun] = {}
        self.idle_hooks: list[SessionHook] = []  # called when a session's run ends
        self.launch_hooks: list[Callable[[LiveRun], None]] = []  # called when a run starts here
        self.relay: RunRelay | None = None  # runs live on other instances (threadline.cluster)
        self._closing = False

    def active_count(self) -> int:
        return sum(1 for run in self.live.values() if not run.ended)

    # -- starting --------------------------------------------------------------------------------

    async def _resolve_model(self, requested: str | None, session_model: str | None) -> tuple[Provider, str, str]:
        ref = requested or session_model or await self.preferences.get("default_model") or self.settings.default_model
        if not ref and not self.providers.default_model_ref():
            catalog = await self.providers.model_catalog()
            ref = next((f"{g.provider_id}/{g.models[0]}" for g in catalog if g.models), None)
        try:
            provider, model = self.providers.resolve(ref)
        except ProviderError as exc:
            raise BadRequest(exc.message, type=exc.kind, hint=exc.hint) from None
        return provider, model, ref or model

    async def start(
        self,
        session_id: str,
        message: str,
        *,
        model: str | None = None,
        attachments: list[str] | None = None,
        queue: bool = False,
    ) -> dict[str, Any]:
        if not isinstance(message, str) or not message.strip():
            raise BadRequest("message is required")
        if len(message) > MAX_MESSAGE_CHARS:
            raise BadRequest(f"message is longer than {MAX_MESSAGE_CHARS} characters")
        attachments = [str(a)[:300] for a in (attachments or [])]
        if len(attachments) > MAX_ATTACHMENTS:
            raise BadRequest(f"at most {MAX_ATTACHMENTS} attachments")
        current = await self.sessions.get(session_id, messages=False)
        provider, model_name, model_ref = await self._resolve_model(model, current.get("model"))
        request = {"message": message, "attachments": attachments, "model": model}
        run_id = new_run_id()
        async with self.store.write() as conn:
            row = await self.sessions.materialize(conn, session_id)
            if row["active_run_id"] is not None and not await self._clear_if_stale(conn, row):
                if not queue:
                    raise Conflict("session already has an active stream", active_stream_id=row["active_run_id"])
                await self._insert_run(conn, run_id, session_id, "queued", model_ref, request)
                return {"queued": True, "queue_id": run_id, "session_id": session_id,
                        "active_stream_id": row["active_run_id"]}
            await self._claim(conn, run_id, session_id, model_ref, request)
        self._launch(run_id, session_id, provider, model_name, current["workspace"])
        return {"stream_id": run_id, "session_id": session_id, "effective_model": model_ref}

    async def _insert_run(
        self, conn: AsyncConnection, run_id: str, session_id: str, status: str, model: str | None,
        request: dict[str, Any], kind: str = "chat",
    ) -> None:
        now = time.time()
        await conn.execute(
            t.runs.insert().values(
                id=run_id, session_id=session_id, kind=kind, status=status, model=model, request=request,
                owner=self.instance_id if status == "running" else None, created_at=now,
                started_at=now if status == "running" else None,
                lease_until=now + self.settings.run_lease_seconds if status == "running" else None,
            )
        )

    async def _claim(
        self, conn: AsyncConnection, run_id: str, session_id: str, model_ref: str | None, request: dict[str, Any],
        kind: str = "chat",
    ) -> None:
        """Store the user message, record the run and make it the session's owner: one transaction."""
        meta = {"attachments": request["attachments"]} if request.get("attachments") else {}
        await self.sessions.append_message(
            conn, session_id, NewMessage(role="user", content=request["message"], meta=meta), run_id=run_id
        )
        await self._insert_run(conn, run_id, session_id, "running", model_ref, request, kind)
        values: dict[str, Any] = {"active_run_id": run_id}
        if request.get("model"):
            values["model"] = request["model"]
        await conn.execute(update(t.sessions).where(t.sessions.c.id == session_id).values(**values))

    async def _clear_if_stale(self, conn: AsyncConnection, row: Any) -> bool:
        """A session whose owner run is not live here and whose lease ran out is freed."""
        run_id = row["active_run_id"]
        if run_id in self.live:
            return False
        run = (await conn.execute(select(t.runs).where(t.runs.c.id == run_id))).mappings().first()
        if run is not None and run["status"] == "running" and (run["lease_until"] or 0) > time.time():
            return False
        await self.endings.mark_interrupted(conn, run_id, row["id"])
        return True

    def _launch(
        self, run_id: str, session_id: str, provider: Provider, model: str, workspace: str,
        spec: RunSpec | None = None,
    ) -> LiveRun:
        spec = spec or RunSpec()
        live = LiveRun(id=run_id, session_id=session_id, kind=spec.kind)
        self.live[run_id] = live
        live.task = asyncio.create_task(self._execute(live, provider, model, workspace, spec), name=f"run-{run_id}")
        for hook in self.launch_hooks:
            hook(live)
        return live

    # -- executing -------------------------------------------------------------------------------

    async def _execute(self, live: LiveRun, provider: Provider, model: str, workspace: str, spec: RunSpec) -> None:
        recorder = Recorder(live, self.sessions, self.approvals)
        ticker = asyncio.create_task(self._checkpoints(live, recorder))
        status = "failed"
        try:
            if spec.history is not None:
                history = spec.history
            else:
                history = model_history(await self.sessions.context_messages(live.session_id))
            max_steps = await self.preferences.get("agent_max_steps") or self.settings.agent_max_steps
            result = await run_agent(
                provider=provider,
                model=model,
                history=history,
                tools=spec.tools if spec.tools is not None else default_tools(),
                ctx=ToolContext(jail=Jail(Path(workspace)), output_cap=self.settings.tool_output_cap,
                                shell_timeout=self.settings.shell_timeout_seconds),
                sink=recorder,
                max_steps=max_steps,
                system=system_prompt(workspace),
            )
            ticker.cancel()
            if live.cancel_requested:
                raise asyncio.CancelledError  # the cancel arrived but something below swallowed it
            answer = "\n\n".join(recorder.answer_parts) or result.final_text
            if spec.on_success is not None:
                await spec.on_success(live, answer)
            await self.endings.succeed(live, recorder, result.stopped_reason, result.note, answer)
            status = "succeeded"
        except asyncio.CancelledError:
            ticker.cancel()
            if self._closing and not live.cancel_requested:
                await uncancellable(self.endings.interrupted(live, recorder))
                status = "interrupted"
            else:
                await uncancellable(self.endings.cancelled(live, recorder))
                status = "cancelled"
        except NotOwner:
            log.info("run %s lost its session; stopping without writing", live.id)
            status = "cancelled"
        except ProviderError as exc:
            ticker.cancel()
            await uncancellable(self.endings.fail(live, recorder, exc.kind, exc.message, exc.hint))
        except Exception as exc:  # a bug must still end the run and free the session
            ticker.cancel()
            log.exception("run %s failed", live.id)
            await uncancellable(
                self.endings.fail(
                    live, recorder, "error", f"{type(exc).__name__}: {exc}", "This is a bug; see the log."
                )
            )
        finally:
            ticker.cancel()
            live.finish()
            with contextlib.suppress(Exception):
                await flush_events(self.store, live)
            self.live.pop(live.id, None)
        if spec.on_end is not None:
            try:
                await spec.on_end(live, status)
            except Exception:
                log.exception("end hook of run %s failed", live.id)
        if not self._closing:
            await self.start_next(live.session_id)
            for hook in self.idle_hooks:
                try:
                    await hook(live.session_id)
                except Exception:
                    log.exception("idle hook for session %s failed", live.session_id)

    async def _checkpoints(self, live: LiveRun, recorder: Recorder) -> None:
        interval = self.settings.checkpoint_interval_seconds
        lease_every = max(interval, self.settings.run_lease_seconds / 3)
        last_lease = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                await recorder.checkpoint()
                if time.monotonic() - last_lease >= lease_every:
                    last_lease = time.monotonic()
                    await self._renew_lease(live.id)
            except NotOwner:
                return
            except Exception:
                log.exception("checkpoint of run %s failed", live.id)

    async def _renew_lease(self, run_id: str) -> None:
        async with self.store.write() as conn:
            await conn.execute(
                update(t.runs).where(t.runs.c.id == run_id)
                .values(lease_until=time.time() + self.settings.run_lease_seconds)
            )

    # -- cancel, queue, recovery ------------------------------------------------------------------

    async def cancel(self, run_id: str) -> bool:
        live = self.live.get(run_id)
        if live is None and self.relay is not None:
            return await self.relay.cancel(run_id)
        if live is None or live.ended or live.task is None or live.task.done():
            return False
        if not live.cancel_requested:  # a second cancel (two tabs, GET and POST) only waits for the first
            live.cancel_requested = True
            self.approvals.cancel_run(run_id)
            live.task.cancel()
        await asyncio.wait([live.task], timeout=15)
        return True

    async def start_next(self, session_id: str) -> str | None:
        """Start the oldest queued message of a free session."""
        r = t.runs
        async with self.store.write() as conn:
            row = await self.sessions.row(conn, session_id)
            if row is None or row["active_run_id"] is not None:
                return None
            queued = (await conn.execute(
                select(r).where(r.c.session_id == session_id, r.c.status == "queued").order_by(r.c.created_at).limit(1)
            )).mappings().first()
            if queued is None:
                return None
            try:
                provider, model_name, _ref = await self._resolve_model(queued["request"].get("model"), row["model"])
            except BadRequest as exc:
                await self.endings.set_run(conn, queued["id"], "failed", error={"type": "model_not_found",
                                                                          "message": exc.message})
                return None
            await conn.execute(r.delete().where(r.c.id == queued["id"]))
            await self._claim(conn, queued["id"], session_id, queued["model"], queued["request"])
        self._launch(queued["id"], session_id, provider, model_name, row["workspace"])
        return str(queued["id"])

    async def queued(self, session_id: str) -> list[dict[str, Any]]:
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
        async with self.store.write() as conn:
            result = await conn.execute(
                r.delete().where(r.c.id == queue_id, r.c.session_id == session_id, r.c.status == "queued")
            )
            return bool(result.rowcount)

    async def recover(self, *, only_expired: bool = False) -> int:
        """Runs left ``running`` by a process that died are interrupted; queued messages resume.
        A single instance owns every run, so at its start-up all of them are stale; instances that
        share a database (``only_expired``) take over only runs whose lease ran out."""
        r = t.runs
        now = time.time()
        stale_clause = r.c.status == "running"
        if only_expired:
            stale_clause = stale_clause & ((r.c.lease_until < now) | r.c.lease_until.is_(None)
                                           | (r.c.owner == self.instance_id))  # ours, from before a restart
        async with self.store.write() as conn:
            stale = (await conn.execute(select(r.c.id, r.c.session_id).where(stale_clause))).all()
            for run_id, session_id in stale:
                await self.endings.mark_interrupted(conn, run_id, session_id)
                await self._interrupted_event(conn, run_id, session_id, now)
            waiting = (await conn.execute(select(r.c.session_id).where(r.c.status == "queued").distinct())).all()
        for (session_id,) in waiting:
            await self.start_next(session_id)
        return len(stale)

    async def sweep(self) -> dict[str, RunEvent]:
        """Interrupt the runs of instances that died (``running`` with an expired lease, none live
        here), as ``recover`` does at start-up; returns each one's final event. Instances sharing a
        database call it periodically (threadline.cluster)."""
        r = t.runs
        now = time.time()
        swept: dict[str, RunEvent] = {}
        async with self.store.write() as conn:
            stale = (await conn.execute(
                select(r.c.id, r.c.session_id)
                .where(r.c.status == "running", r.c.lease_until < now, r.c.id.not_in(list(self.live)))
            )).all()
            for run_id, session_id in stale:
                await self.endings.mark_interrupted(conn, run_id, session_id)
                swept[run_id] = await self._interrupted_event(conn, run_id, session_id, now)
        for _run_id, session_id in stale:
            await self.start_next(session_id)
            for hook in self.idle_hooks:
                try:
                    await hook(session_id)
                except Exception:
                    log.exception("idle hook for session %s failed", session_id)
        return swept

    async def _interrupted_event(self, conn: AsyncConnection, run_id: str, session_id: str, now: float) -> RunEvent:
        event = RunEvent(await self._next_seq(conn, run_id), "apperror",
                         {"message": "The server stopped during this answer.", "type": "interrupted",
                          "hint": "Send the message again to continue.", "session_id": session_id}, now)
        await conn.execute(t.run_events.insert().values(run_id=run_id, seq=event.seq, type=event.type,
                                                        data=event.data, created_at=now))
        return event

    async def _next_seq(self, conn: AsyncConnection, run_id: str) -> int:
        from sqlalchemy import func

        e = t.run_events
        return int((await conn.execute(select(func.coalesce(func.max(e.c.seq), 0)).where(e.c.run_id == run_id)))
                   .scalar_one()) + 1

    async def close(self) -> None:
        self._closing = True
        tasks = [run.task for run in self.live.values() if run.task and not run.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    # -- reading ---------------------------------------------------------------------------------

    async def run_row(self, run_id: str) -> Any:
        async with self.store.read() as conn:
            return (await conn.execute(select(t.runs).where(t.runs.c.id == run_id))).mappings().first()

    async def events(self, run_id: str, after_seq: int, heartbeat: float) -> AsyncIterator[RunEvent | None]:
        """Every event after ``after_seq``, live or replayed from the store; ``None`` is a heartbeat."""
        live = self.live.get(run_id)
        if live is not None:
            async for event in live.follow(after_seq, heartbeat):
                yield event
            return
        if self.relay is not None:
            async for item in self.relay.events(run_id, after_seq, heartbeat):
                yield item
            return
        if await self.run_row(run_id) is None:
            raise NotFound(f"stream not found: {run_id}")
        for event in await stored_events(self.store, run_id, after_seq):
            yield event

    async def status(self, run_id: str) -> dict[str, Any]:
        live = self.live.get(run_id)
        row = await self.run_row(run_id)
        active = live is not None and not live.ended
        if live is None and self.relay is not None:  # it may be live on another instance
            active = bool(row and row["status"] == "running")
        return {
            "stream_id": run_id,
            "active": active,
            "status": row["status"] if row else None,
            "session_id": row["session_id"] if row else None,
            "replay_available": row is not None,
            "last_seq": len(live.events) if live else None,
        }
