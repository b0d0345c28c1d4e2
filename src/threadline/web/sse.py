"""Server-sent events framing."""

from __future__ import annotations

from typing import Any

from threadline.errors import BadRequest
from threadline.jsonvalues import encode_json
from threadline.redact import redact_obj
from threadline.web.responses import off_loop

MAX_SEQ = 2**31 - 1  # event sequence numbers never come near this; a larger one is not ours


def frame(event: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    """One event; secrets in ``data`` are redacted here (the run log keeps them as they were). Never
    fails on the data: a lone surrogate is sent as U+FFFD, a non-finite number as null."""
    head = b"" if event_id is None else b"id: " + event_id.encode("utf-8", "replace") + b"\n"
    head += b"event: " + event.encode("utf-8", "replace") + b"\n"
    payload = encode_json(redact_obj(data))  # compact JSON has no raw newline: one data line
    return head + b"data: " + payload + b"\n\n"


async def encode(event: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    """``frame``, in a worker thread when ``data`` carries much text (a ``done`` event with a long
    message), so that redacting it holds up no other request."""
    return await off_loop(lambda value: frame(event, value, event_id), data)


async def encode_batch(events: list[tuple[str, dict[str, Any], str]]) -> bytes:
    """Several ``(event, data, id)`` events as one piece (one write to the client), like ``encode``."""
    if len(events) == 1:
        return await encode(*events[0])
    return await off_loop(lambda items: b"".join(frame(*item) for item in items), events)


HEARTBEAT = b": heartbeat\n\n"


def resume_after(last_event_id: str | None, after_seq: int | None, stream_id: str) -> int:
    """The sequence number a client resumes after: its ``Last-Event-ID`` (``<stream_id>:<seq>`` or a
    bare ``<seq>``; ignored when it names another stream or is not a number), else ``after_seq``, else 0.
    A number past ``MAX_SEQ`` was never sent by this server: 400."""
    resumed = _last_event_seq(last_event_id, stream_id)
    start = resumed if resumed is not None else (after_seq or 0)
    if start > MAX_SEQ:
        name = "Last-Event-ID" if resumed is not None else "after_seq"
        raise BadRequest(f"{name}: the sequence number is out of range (at most {MAX_SEQ})")
    return start


def _last_event_seq(value: str | None, stream_id: str) -> int | None:
    if not value:
        return None
    prefix, sep, seq = value.rpartition(":")
    if sep and prefix != stream_id:
        return None
    if not seq.isascii() or not seq.isdigit():
        return None
    return int(seq)  # at most 200 digits: the header is limited
