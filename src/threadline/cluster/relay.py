"""What a cluster adds to one instance's run manager and approval broker.

``threadline.runs`` asks these only for runs that are not live in this process; without
``THREADLINE_REDIS_URL`` none is set and everything stays local.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from threadline.runs.live import RunEvent


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
