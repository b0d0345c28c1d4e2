"""What the run layer asks of other instances, and tells whoever listens to it. The run layer owns
these protocols; ``threadline.cluster`` implements the relays and a listener, the background-task
delivery and the metrics are listeners too.

    RunRelay       runs that are not live in this process (another instance owns them)
    ApprovalRelay  approvals waiting in another instance
    RunListener    told when a run starts here and when any run ends (here, or swept)

Without ``THREADLINE_REDIS_URL`` no relay is set and everything stays local.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from threadline.runs.live import LiveRun, RunEvent


class RunRelay(Protocol):
    def events(self, run_id: str, after_seq: int, heartbeat: float) -> AsyncIterator[RunEvent | None]:
        """Events of a run that is not live here: tailed from Redis, else replayed from the database.
        Raises ``NotFound`` for an unknown run."""
        ...

    async def cancel(self, run_id: str) -> bool:
        """Ask the run's owner to cancel it; returns once the owner has freed the session."""
        ...


class ApprovalRelay(Protocol):
    async def pending(self, session_id: str) -> list[dict[str, Any]]:
        """Approvals waiting in the instance that runs the session's active run."""
        ...

    async def respond(self, session_id: str, choice: str, approval_id: str | None) -> dict[str, Any] | None:
        """Hand an answer to that instance; ``None`` when no other instance runs the session."""
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
