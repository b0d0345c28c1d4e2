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
from threadline.redact import Memo, redact_obj, text_size

OFF_LOOP_CHARS = 32 * 1024
# Each message's answer, and each list of them, redacted and encoded, by its exact encoding before
# redaction: bytes in all, keys and values (a value that equals its key is stored empty).
ENCODED_MESSAGES: Memo[bytes, bytes] = Memo(limit=32 * 1024 * 1024)
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

    shape: Callable[[Any], bytes] = staticmethod(render_redacted)

    def render(self, content: Any) -> bytes:
        return self.shape(content)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._pending is not _NOTHING:
            content, self._pending = self._pending, _NOTHING
            self.body = await anyio.to_thread.run_sync(self.shape, content)
            self.headers["content-length"] = str(len(self.body))
        await super().__call__(scope, receive, send)


def _remembered(raw: bytes, shape: Callable[[], bytes]) -> bytes:
    """What ``shape`` makes of the value encoded as ``raw``, from ``ENCODED_MESSAGES`` when known."""
    known = ENCODED_MESSAGES.get(raw)
    if known is None:
        known = shape()
        ENCODED_MESSAGES.put(raw, b"" if known == raw else known)
    return known or raw


def encode_message(message: Any) -> bytes:
    """One message as the answer carries it, redacted and encoded. Its exact encoding is the key to
    a memo (``ENCODED_MESSAGES``), so a message is redacted once per process, not on every open, and
    any change to it (a checkpoint's text, a status) is a new key. Encoding is cheap; the redaction
    walk it saves is most of what shaping a long transcript cost."""
    raw = encode_json(message)

    def shape() -> bytes:
        redacted = redact_obj(message)
        return raw if redacted is message else encode_json(redacted)

    return _remembered(raw, shape)


def render_session(content: Any) -> bytes:
    """``{"session": session}`` with its ``messages`` encoded one by one (``encode_message``) and the
    rest as any answer is; the same JSON as ``render_redacted`` would make, keys in another order."""
    session = content.get("session") if isinstance(content, dict) and len(content) == 1 else None
    if not isinstance(session, dict) or not isinstance(session.get("messages"), list) or not session["messages"]:
        return render_redacted(content)
    messages = session["messages"]
    head = render_redacted({key: value for key, value in session.items() if key != "messages"})
    comma = b"," if len(head) > 2 else b""
    return b"".join((b'{"session":', head[:-1], comma, b'"messages":', encode_messages(messages), b"}}"))


def encode_messages(messages: list[Any]) -> bytes:
    """A list of messages as ``encode_message`` encodes each: the whole list remembered by its exact
    encoding too, so opening a session that has not changed since it was last opened is one encoding
    and one lookup; after a change, only the changed messages are redacted again."""
    return _remembered(encode_json(messages),
                       lambda: b"[" + b",".join(encode_message(message) for message in messages) + b"]")


class SessionResponse(RedactedJSONResponse):
    """A session with its messages (``GET /api/session``), shaped by ``render_session``."""

    shape = staticmethod(render_session)
