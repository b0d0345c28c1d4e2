"""Server-sent events framing."""

from __future__ import annotations

import json
from typing import Any

from threadline.redact import redact_obj


def frame(event: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    """One event; secrets in ``data`` are redacted here (the run log keeps them as they were)."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    payload = json.dumps(redact_obj(data), ensure_ascii=False, separators=(",", ":"))
    lines.extend(f"data: {line}" for line in payload.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


HEARTBEAT = b": heartbeat\n\n"


def parse_last_event_id(value: str | None, stream_id: str) -> int | None:
    """``<stream_id>:<seq>`` (or a bare ``<seq>``) to the sequence number; None if it names another stream."""
    if not value:
        return None
    prefix, sep, seq = value.rpartition(":")
    if sep and prefix != stream_id:
        return None
    try:
        number = int(seq)
    except ValueError:
        return None
    return number if number >= 0 else None
