"""The error vocabulary shared by every layer.

    ThreadlineError             base; ``status`` is the HTTP status the web layer answers with
    ├── BadRequest              400: malformed or invalid input
    ├── Unauthorized            401
    ├── Forbidden               403
    ├── NotFound                404
    ├── Conflict                409: the resource is busy or already exists
    ├── PayloadTooLarge         413
    ├── Unprocessable           422: well-formed input that fails validation
    ├── TooManyRequests         429
    └── UpstreamError           502: a provider or another service failed

Services raise these; one handler in ``web/`` turns them into ``{"error": message, ...extra}``.
"""

from __future__ import annotations

from typing import Any


class ThreadlineError(Exception):
    status = 500

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadRequest(ThreadlineError):
    status = 400


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
