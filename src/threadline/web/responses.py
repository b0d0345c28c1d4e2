"""JSON responses. The default one redacts secrets from everything it carries (``threadline.redact``);
none fails on stored data (``threadline.jsonvalues.encode_json``). A response carrying more than
``OFF_LOOP_CHARS`` of text is redacted and encoded in a worker thread, so a large session never holds
up other requests (``/health`` included) while it is shaped."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anyio.to_thread
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.types import Receive, Scope, Send

from threadline.jsonvalues import encode_json
from threadline.redact import redact_obj, text_size

OFF_LOOP_CHARS = 32 * 1024
Result = TypeVar("Result")
_NOTHING = object()


async def off_loop(function: Callable[[Any], Result], value: Any) -> Result:
    """``function(value)``: here for a small ``value``, in a worker thread for one with much text."""
    if text_size(value, OFF_LOOP_CHARS) < OFF_LOOP_CHARS:
        return function(value)
    return await anyio.to_thread.run_sync(function, value)


class SafeJSONResponse(JSONResponse):
    """A JSON response that cannot fail on stored data (lone surrogates, non-finite numbers)."""

    def render(self, content: Any) -> bytes:
        return encode_json(content)


def render_redacted(content: Any) -> bytes:
    return encode_json(redact_obj(content))


class RedactedJSONResponse(SafeJSONResponse):
    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        # Large content is rendered when the response is sent, off the event loop (``__call__``).
        large = text_size(content, OFF_LOOP_CHARS) >= OFF_LOOP_CHARS
        self._pending = content if large else _NOTHING
        super().__init__(None if large else content, status_code, headers, media_type, background)

    def render(self, content: Any) -> bytes:
        return render_redacted(content)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._pending is not _NOTHING:
            content, self._pending = self._pending, _NOTHING
            self.body = await anyio.to_thread.run_sync(render_redacted, content)
            self.headers["content-length"] = str(len(self.body))
        await super().__call__(scope, receive, send)
