"""The error vocabulary shared by every layer.

    ThreadlineError             base; ``status`` is the HTTP status the web layer answers with
    ├── BadRequest              400: malformed or invalid input
    │   └── AlreadyExists       400: a file or folder is already there (Hermes WebUI's status)
    ├── Unauthorized            401
    ├── Forbidden               403
    ├── NotFound                404
    ├── Conflict                409: the resource is busy
    ├── PayloadTooLarge         413
    ├── Unprocessable           422: well-formed input that fails validation
    ├── TooManyRequests         429
    ├── UpstreamError           502: a provider or another service failed
    └── InsufficientStorage     507: the disk or the database is full; nothing was written

Services raise these; one handler in ``web/`` turns them into ``{"error": message, ...extra}``.
"""

from __future__ import annotations

import errno
from typing import Any


class ThreadlineError(Exception):
    status = 500

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadRequest(ThreadlineError):
    status = 400


class AlreadyExists(BadRequest):
    """Something is already where a new file or folder would go."""


class Unauthorized(ThreadlineError):
    status = 401


class Forbidden(ThreadlineError):
    status = 403


class NotFound(ThreadlineError):
    status = 404


class Conflict(ThreadlineError):
    status = 409


class PayloadTooLarge(ThreadlineError):
    status = 413


class Unprocessable(ThreadlineError):
    status = 422


class TooManyRequests(ThreadlineError):
    status = 429


class UpstreamError(ThreadlineError):
    status = 502


class InsufficientStorage(ThreadlineError):
    status = 507
    MESSAGE = "storage is full: the disk or the database has no space left, so nothing was saved"

    @classmethod
    def caused(cls, exc: BaseException) -> InsufficientStorage | None:
        """The error to answer when ``exc``, or an exception behind it, says the storage is full:
        ``OSError`` ENOSPC or EDQUOT, SQLite's SQLITE_FULL ("database or disk is full"), PostgreSQL's
        SQLSTATE 53100 (disk_full). Database errors arrive wrapped by SQLAlchemy (``.orig``) and by the
        async drivers (``__cause__``), so the whole chain is read."""
        seen: set[int] = set()
        pending: list[BaseException | None] = [exc]
        while pending:
            error = pending.pop()
            if error is None or id(error) in seen:
                continue
            seen.add(id(error))
            if isinstance(error, cls):
                return error
            if _is_full(error):
                return cls(cls.MESSAGE)
            pending += [error.__cause__, error.__context__, getattr(error, "orig", None)]
        return None


SQLITE_FULL = 13
PG_DISK_FULL = "53100"


def _is_full(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if getattr(error, "sqlite_errorcode", None) == SQLITE_FULL or "database or disk is full" in str(error):
        return True
    return any(getattr(error, name, None) == PG_DISK_FULL for name in ("sqlstate", "pgcode"))
