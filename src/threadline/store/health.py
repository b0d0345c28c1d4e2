"""Whether writes go through: what ``/health/ready`` reports besides a successful probe.

A writer that has held the write lock far longer than any transaction should (a connection stuck in
a transaction), or writes that keep failing (a full disk), make the instance not ready until a write
succeeds again.
"""

from __future__ import annotations

import time

from sqlalchemy.exc import DBAPIError

STUCK_SECONDS = 30.0


class WriteHealth:
    def __init__(self) -> None:
        self._open: dict[int, float] = {}  # start times of the open write transactions
        self._next = 0
        self.last_error: str | None = None
        self.failed_at: float | None = None

    def writer_started(self) -> int:
        self._next += 1
        self._open[self._next] = time.monotonic()
        return self._next

    def writer_done(self, token: int) -> None:
        self._open.pop(token, None)

    def write_ok(self) -> None:
        self.last_error = None
        self.failed_at = None

    def write_failed(self, exc: BaseException) -> None:
        if isinstance(exc, DBAPIError | OSError):
            self.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
            self.failed_at = time.time()

    def problem(self) -> str | None:
        """Why writes are not going through, or None."""
        if self._open:
            held = time.monotonic() - min(self._open.values())
            if held > STUCK_SECONDS:
                return f"a write transaction has been open for {held:.0f} s"
        if self.last_error is not None:
            return f"the last write failed: {self.last_error}"
        return None

