"""Executing runs: the task behind each live run, from its context to its ending.

A claimed run (``runs/starts.py``) is launched here: its runtime produces the turn through a
``Recorder`` (the sink), the process's checkpointer (``runs/checkpoints.py``) stores its progress,
and exactly one ending (success, failure, cancel, interruption) frees the session and sends the
terminal event. Whatever happens, every run's stream ends with exactly one terminal event
(``_ensure_terminal``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import update

from threadline.agent.events import ProviderError, Usage
from threadline.agent.runtime import BUILTIN, RunContext, RuntimeRegistry, SteerInbox, can_steer
from threadline.runs.approvals import ApprovalBroker
from threadline.runs.checkpoints import Checkpointer
from threadline.runs.clarify import ClarifyBroker
from threadline.runs.context import model_history
from threadline.runs.endings import RunEndings, uncancellable
from threadline.runs.instructions import Instructions, RunTarget
from threadline.runs.live import LiveRun, flush_events
from threadline.runs.recorder import NotOwner, Recorder
from threadline.runs.relay import EndedRun, RunListener
from threadline.runs.starts import Claim
from threadline.runs.steering import Steering
from threadline.sessions.service import RUNTIME_STATE, SessionService
from threadline.settings import Settings
from threadline.store import tables as t

log = logging.getLogger("threadline.runs")

CANCEL_WAIT_SECONDS = 15.0
CLOSE_WAIT_SECONDS = 10.0


class RunExecutor:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: SessionService,
        runtimes: RuntimeRegistry,
        approvals: ApprovalBroker,
        clarify: ClarifyBroker,
        steering: Steering,
        endings: RunEndings,
        instructions: Instructions,
        listeners: Sequence[RunListener] = (),
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.store = sessions.store
        self.runtimes = runtimes
        self.approvals = approvals
        self.clarify = clarify
        self.steering = steering
        self.endings = endings
        self.instructions = instructions
        self.listeners = list(listeners)
        self.live: dict[str, LiveRun] = {}
        self.live_ids: tuple[str, ...] = ()  # a snapshot the lease keeper's thread reads
        self.checkpoints = Checkpointer(sessions, settings.checkpoint_interval_seconds)
        self.closing = False
        self._tasks: set[asyncio.Task[None]] = set()

    def active_count(self) -> int:
        return sum(1 for run in self.live.values() if not run.ended)

    def is_live(self, run_id: str) -> bool:
        return run_id in self.live

    def launch(self, claim: Claim) -> LiveRun:
        live = LiveRun(id=claim.run_id, session_id=claim.session_id, kind=claim.spec.kind)
        self.live[claim.run_id] = live
        self.live_ids = tuple(self.live)
        self.checkpoints.start()
        for listener in self.listeners:
            listener.run_started(live)
        live.task = asyncio.create_task(self._execute(live, claim), name=f"run-{claim.run_id}")
        return live

    async def _context(self, live: LiveRun, claim: Claim, inbox: SteerInbox | None) -> RunContext:
        spec = claim.spec
        if spec.history is not None:
            history = spec.history
        else:
            history = model_history(await self.sessions.context_messages(live.session_id))
        async with self.store.read() as conn:
            row = await self.sessions.row(conn, live.session_id)
        extra = dict(row["extra"] or {}) if row is not None else {}
        target = RunTarget(live.session_id, spec.kind, claim.workspace, row["project_id"] if row else None, extra,
                           run_id=live.id)
        states = extra.get(RUNTIME_STATE) or {}
        state = states.get(claim.runtime or BUILTIN) if isinstance(states, dict) else None
        profile = await self.instructions.profile(target)
        return RunContext(
            run_id=live.id, session_id=live.session_id, kind=spec.kind, model=claim.model,
            workspace=Path(claim.workspace), history=history, system=await self.instructions.compose(target),
            tools=spec.tools, state=dict(state) if isinstance(state, dict) else {}, inbox=inbox,
            params=profile.params, tool_names=profile.tools,
        )

    async def _execute(self, live: LiveRun, claim: Claim) -> None:
        recorder = Recorder(live, self.sessions, self.approvals, clarify=self.clarify, runtime=claim.runtime)
        self.checkpoints.add(recorder)
        status = "failed"
        answer: str | None = None
        try:
            runtime = self.runtimes.get(claim.runtime)
            inbox = self.steering.open(live, steerable=can_steer(runtime))
            try:
                async with self.endings.bookkeeping:
                    context = await self._context(live, claim, inbox)
                result = await runtime.run(context, recorder)
            finally:
                self.steering.close(live)  # steer text that came too late goes back, before any ending
            if live.cancel_requested:
                raise asyncio.CancelledError  # the cancel arrived but something below swallowed it
            answer = "\n\n".join(recorder.answer_parts) or result.final_text
            if claim.spec.on_success is not None:
                await claim.spec.on_success(live, answer)
            await self.endings.succeed(live, recorder, result.stopped_reason, result.note, answer)
        except asyncio.CancelledError:
            if recorder.settled:
                pass  # cancelled while announcing a stored success: the success stands
            elif self.closing and not live.cancel_requested:
                await uncancellable(self.endings.interrupted(live, recorder))
                status = "interrupted"
            else:
                await uncancellable(self.endings.cancelled(live, recorder))
                status = "cancelled"
        except NotOwner:
            log.warning("run %s lost its session; stopping without writing", live.id)
            recorder.lost = True
            status = "interrupted"
        except ProviderError as exc:
            await uncancellable(self.endings.fail(live, recorder, exc.kind, exc.message, exc.hint))
        except Exception as exc:  # a bug must still end the run and free the session
            log.exception("run %s failed", live.id)
            await uncancellable(self.endings.fail(
                live, recorder, "error", f"{type(exc).__name__}: {exc}", "This is a bug; see the log."
            ))
        finally:
            await uncancellable(self._close(live, claim, recorder, status, answer))

    async def _close(self, live: LiveRun, claim: Claim, recorder: Recorder, status: str, answer: str | None) -> None:
        """The run's last events, in a bookkeeping slot, then its listeners, outside it: starting a
        queued message may ask a provider, which must not hold a slot others wait for."""
        async with self.endings.bookkeeping:
            await self._ensure_terminal(live, recorder)
        self.checkpoints.remove(recorder)
        self._forget(live.id)
        await self._ended(live, claim, "succeeded" if recorder.settled else status, answer, recorder.usage)

    async def _ensure_terminal(self, live: LiveRun, recorder: Recorder) -> None:
        """The last guard of the one-terminal-event rule. A run that lost its session says so; an
        ending whose writes failed (a full disk, a lost database) still ends the stream, and the
        session is freed as soon as the database takes writes again."""
        if not live.ended:
            if recorder.lost:
                live.emit("apperror", {"message": "This answer was stopped: another run took over its session.",
                                       "type": "interrupted", "hint": "Reload the session.",
                                       "session_id": live.session_id})
            else:
                log.error("run %s ended without its closing writes; freeing its session later", live.id)
                live.emit("apperror", {"message": "The answer could not be saved: the database refused the write.",
                                       "type": "storage", "hint": "Check the server's disk and log, then send again.",
                                       "session_id": live.session_id})
                self._background(self._release_later(live, recorder), f"release-{live.id}")
        live.finish()
        with contextlib.suppress(Exception):
            await flush_events(self.store, live)

    def _background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release_later(self, live: LiveRun, recorder: Recorder, *, attempts: int = 120) -> None:
        delay = 0.5
        for _ in range(attempts):
            try:
                async with self.store.write(background=True, inline=True) as conn:
                    await recorder.release(conn)
                    await conn.execute(
                        update(t.runs).where(t.runs.c.id == live.id, t.runs.c.status == "running")
                        .values(status="failed", finished_at=time.time(), lease_until=None,
                                error={"type": "storage", "message": "the run's closing writes failed"})
                    )
                with contextlib.suppress(Exception):
                    await flush_events(self.store, live)
                return
            except Exception as exc:  # noqa: BLE001 - retried until the database takes writes again
                log.warning("freeing the session of run %s failed (%s); retrying", live.id, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _ended(self, live: LiveRun, claim: Claim, status: str, answer: str | None, usage: Usage) -> None:
        if claim.spec.on_end is not None:
            try:
                await claim.spec.on_end(live, status)
            except Exception:
                log.exception("end hook of run %s failed", live.id)
        if self.closing:
            return
        await notify_ended(self.listeners, EndedRun(
            live.id, live.session_id, live.kind, status, answer, usage.input_tokens, usage.output_tokens,
        ))

    def _forget(self, run_id: str) -> None:
        self.live.pop(run_id, None)
        self.live_ids = tuple(self.live)

    async def cancel(self, run_id: str) -> bool:
        live = self.live.get(run_id)
        if live is None or live.ended or live.task is None or live.task.done():
            return False
        if not live.cancel_requested:  # a second cancel (two tabs, GET and POST) only waits for the first
            live.cancel_requested = True
            self.approvals.cancel_run(run_id)
            self.clarify.cancel_run(run_id)
            live.task.cancel()
        await asyncio.wait([live.task], timeout=CANCEL_WAIT_SECONDS)
        return True

    async def close(self) -> None:
        self.closing = True
        tasks = [run.task for run in self.live.values() if run.task and not run.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_WAIT_SECONDS)
        for task in set(self._tasks):
            task.cancel()
        await self.checkpoints.close()


async def notify_ended(listeners: Sequence[RunListener], ended: EndedRun) -> None:
    """Tell every listener that a run ended; one failing listener does not stop the others."""
    for listener in listeners:
        try:
            await listener.run_ended(ended)
        except Exception:
            log.exception("a listener failed at the end of run %s", ended.run_id)
