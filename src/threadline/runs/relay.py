"""What the run layer asks of other instances, and tells whoever listens to it. The run layer owns
these protocols; ``threadline.cluster`` implements the relays and a listener, the background-task
delivery and the metrics are listeners too.

    RunRelay       runs that are not live in this process (another instance owns them)
    OwnerRelay     requests to the instance that runs a session's active run: approvals and clarify
                   questions waiting there, answers to them, steer text (each part of the run layer
                   offers its ``relay_handlers()``, which that instance runs)
    RunListener    told when a run starts here and when any run ends (here, or swept)

Without ``THREADLINE_REDIS_URL`` no relay is set and everything stays local.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from threadline.runs.live import LiveRun, RunEvent


class RunRelay(Protocol):
    def events(self, run_id: str, after_seq: int, heartbeat: float) -> AsyncIterator[list[RunEvent] | None]:
        """Events of a run, in batches, that is not live here: tailed from Redis, else replayed from the database.
        Raises ``NotFound`` for an unknown run."""
        ...

    async def cancel(self, run_id: str) -> bool:
        """Ask the run's owner to cancel it; returns once the owner has freed the session."""
        ...


RelayHandler = Callable[[dict[str, Any]], Awaitable[Any]]  # runs an ``OwnerRelay`` op on the owner


class OwnerRelay(Protocol):
    async def call_owner(self, session_id: str, op: str, args: dict[str, Any], *, timeout: float = 10.0) -> Any:
        """Have the instance that runs the session's active run do ``op`` (a name from the run layer's
        ``relay_handlers()``) and return its answer: ``None`` when no other instance runs the session
        or it did not answer in time."""
        ...


@dataclass(frozen=True, slots=True)
class EndedRun:
    run_id: str
    session_id: str
    kind: str
    status: str  # succeeded | failed | cancelled | interrupted
    answer: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


class RunListener(Protocol):
    def run_started(self, live: LiveRun) -> None:
        """A run starts in this process (called before its first event)."""
        ...

    async def run_ended(self, ended: EndedRun) -> None:
        """A run ended and its session is free: here, or interrupted by recovery or a sweep."""
        ...
