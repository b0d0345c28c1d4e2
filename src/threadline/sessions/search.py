"""Search over titles and the full text of every message, every version included, ranked, with a snippet
of the match; a content match names its message and whether it is on the active path."""

from __future__ import annotations

import re
from typing import cast

from sqlalchemy import select

from threadline.sessions import branches
from threadline.sessions.service import SessionService, visible_clause
from threadline.sessions.views import SearchHit, SearchPublic, session_public
from threadline.store import tables as t
from threadline.store.dialect import SNIPPET_CLOSE, SNIPPET_OPEN

SCAN_LIMIT = 400


def _title_snippet(title: str, query: str) -> str:
    pattern = re.compile(re.escape(query), re.IGNORECASE)
    return pattern.sub(lambda m: f"{SNIPPET_OPEN}{m.group(0)}{SNIPPET_CLOSE}", title, count=1)


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_sessions(
    service: SessionService,
    query: str,
    *,
    limit: int = 50,
    content: bool = True,
    archived: str = "all",
) -> SearchPublic:
    query = query.strip()
    limit = max(1, min(limit, 200))
    if not query:
        page = await service.list(limit=limit)
        listed = cast(list[SearchHit], page["sessions"])
        return {"sessions": listed, "query": "", "count": len(listed)}
    s = t.sessions
    dialect = service.store.dialect
    base = select(s).where(visible_clause())
    if archived in ("0", "1"):
        base = base.where(s.c.archived == (archived == "1"))
    results: list[SearchHit] = []
    seen: set[str] = set()
    async with service.store.read() as conn:
        title_match = dialect.contains_ci(s.c.title, _like_pattern(query))
        title_query = select(s).where(visible_clause(scanning=True), title_match)
        if archived in ("0", "1"):
            title_query = title_query.where(s.c.archived == (archived == "1"))
        title_query = title_query.order_by(s.c.pinned.desc(), s.c.sort_at.desc()).limit(limit)
        for row in (await conn.execute(title_query)).mappings():
            hit = cast(SearchHit, session_public(row))
            hit["match_type"], hit["snippet"] = "title", _title_snippet(row["title"], query)
            results.append(hit)
            seen.add(row["id"])
        fts = dialect.fts_query(query)
        if content and fts and len(results) < limit:
            hits = await conn.execute(dialect.content_search(), {"q": fts, "scan": SCAN_LIMIT})
            best: dict[str, int] = {}  # session id -> its best message, best sessions first
            for session_id, message_id, _score in hits:
                if session_id not in seen and session_id not in best:
                    best[session_id] = message_id
            if best:
                rows = await conn.execute(base.where(s.c.id.in_(list(best))))
                found = {r["id"]: r for r in rows.mappings()}
                shown = [sid for sid in best if sid in found][: limit - len(results)]
                snippets: dict[int, str] = {}
                if shown:
                    snippet_rows = await conn.execute(
                        dialect.snippets(),
                        {"q": fts, "ids": [best[sid] for sid in shown], "open": SNIPPET_OPEN, "close": SNIPPET_CLOSE},
                    )
                    snippets = {message_id: snippet for message_id, snippet in snippet_rows}
                active = await branches.on_path(conn, [best[sid] for sid in shown])
                for session_id in shown:
                    hit = cast(SearchHit, session_public(found[session_id]))
                    message_id = best[session_id]
                    hit["match_type"], hit["snippet"] = "content", snippets.get(message_id, "")
                    hit["message_id"], hit["on_active_path"] = message_id, message_id in active
                    results.append(hit)
    return {"sessions": results, "query": query, "count": len(results)}
