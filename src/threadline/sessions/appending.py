"""One message appended to each of many sessions at once (the checkpoint batch's first rows)."""

from __future__ import annotations

import time

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.sessions.rows import NewMessage
from threadline.store import tables as t


async def append_many(
    conn: AsyncConnection, items: list[tuple[str, NewMessage, str | None]]
) -> list[tuple[int, int]]:
    """Append one message (``(session_id, message, run_id)``, not a tool's) to each of several
    sessions, each session once: one SELECT, one INSERT and one UPDATE whatever their number (the
    checkpoint batch's first rows of 200 new runs). Returns each new row's ``(id, seq)``, in order."""
    if not items:
        return []
    assert all(message.role != "tool" for _, message, _ in items) and len({i[0] for i in items}) == len(items)
    s = t.sessions
    found = await conn.execute(select(s.c.id, s.c.message_count, s.c.active_leaf_id, s.c.sort_at)
                               .where(s.c.id.in_(sorted(i[0] for i in items))))
    rows = {row.id: row for row in found}
    now = time.time()
    values = [message.values(sid, rows[sid].message_count, run_id, now, parent_id=rows[sid].active_leaf_id)
              for sid, message, run_id in items]
    inserting = insert(t.messages).returning(t.messages.c.id, sort_by_parameter_order=True)
    inserted = await conn.execute(inserting, values)
    ids = [row[0] for row in inserted]
    changes = [
        {"sid": sid, "n": value["seq"] + 1, "leaf": new_id, "now": now, "last": value["created_at"],
         "sort": max(value["created_at"], rows[sid].sort_at)}
        for (sid, _message, _run), value, new_id in zip(items, values, ids, strict=True)
    ]
    await conn.execute(
        update(s).where(s.c.id == bindparam("sid")).values(
            message_count=bindparam("n"), active_leaf_id=bindparam("leaf"), updated_at=bindparam("now"),
            last_message_at=bindparam("last"), sort_at=bindparam("sort"),
        ),
        changes,
    )
    return [(new_id, value["seq"]) for new_id, value in zip(ids, values, strict=True)]
