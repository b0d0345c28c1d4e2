"""The session list's keyset cursor: ``(pinned, sort_at, id)`` of the last row of a page, as base64 JSON.
A cursor the server did not write (bad base64 or JSON, numbers out of range) is a 400."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import Row

from threadline.errors import BadRequest


def encode_cursor(row: Row[Any]) -> str:
    raw = json.dumps([int(row.pinned), row.sort_at, row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, float, str]:
    """``[pinned, sort_at, id]`` as ``encode_cursor`` wrote it; anything else is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        pinned, sort_at, sid = json.loads(raw)
    except (ValueError, TypeError):  # not base64, not JSON (UnicodeDecodeError is a ValueError), not 3 items
        raise BadRequest("invalid cursor") from None
    valid = (
        pinned in (0, 1) and not isinstance(pinned, float)
        and isinstance(sort_at, int | float) and not isinstance(sort_at, bool) and -1e18 < sort_at < 1e18
        and isinstance(sid, str) and len(sid) <= 64
    )
    if not valid:
        raise BadRequest("invalid cursor")
    return int(pinned), float(sort_at), sid
