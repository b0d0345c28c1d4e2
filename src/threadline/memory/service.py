"""The memory documents in the database: the current text of each (``memory_documents``) and every
version of it (``memory_revisions``, the last ``HISTORY`` kept), so edits from the UI, the agent and
imports can be listed and undone.

Every change runs in one write transaction holding the document's row lock, so the agent adding an
entry while someone saves in the UI never loses either change; a save can also name the revision it
was made from (``expected_revision``) and is refused with 409 when the document moved on since.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.errors import BadRequest, Conflict, NotFound
from threadline.memory import entries
from threadline.store import tables as t
from threadline.store.engine import Store

LOCAL_OWNER = "local"  # the one user of today; one owner per user once there are users
MAX_DOCUMENT_CHARS = 100_000
HISTORY = 100
SOURCES = ("api", "agent", "import", "undo")
_d = t.memory_documents
# A run's documents: its owner's and, in a project, the project's, in one query.
_DOCUMENTS = select(_d).where(_d.c.owner == bindparam("owner"),
                              _d.c.project_id.in_(bindparam("projects", expanding=True)))


@dataclass(frozen=True)
class MemoryScope:
    """Whose memory: an owner's own (``project_id`` "") or one of their projects'."""

    owner: str = LOCAL_OWNER
    project_id: str = ""

    def check(self, section: str) -> None:
        if section not in entries.SECTIONS:
            raise BadRequest(f"section must be one of {', '.join(entries.SECTIONS)}")
        if self.project_id and section != "memory":
            raise BadRequest("only the memory section is kept per project; the user profile is shared")


@dataclass(frozen=True)
class Document:
    section: str
    content: str
    revision: int
    updated_at: float | None


def _document(section: str, row: Any) -> Document:
    if row is None:
        return Document(section, "", 0, None)
    return Document(section, row["content"], row["revision"], row["updated_at"])


def check_content(content: object) -> str:
    if not isinstance(content, str):
        raise BadRequest("content must be a string")
    if len(content) > MAX_DOCUMENT_CHARS:
        raise BadRequest(f"content is longer than {MAX_DOCUMENT_CHARS:,} characters")
    try:
        content.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("content is not valid text") from None
    return content


class MemoryService:
    def __init__(self, store: Store, *, limits: dict[str, int]) -> None:
        self.store = store
        self.limits = limits  # characters per section: the prompt budget and the agent's limit

    def _where(self, scope: MemoryScope, section: str) -> Any:
        d = t.memory_documents
        return (d.c.owner == scope.owner) & (d.c.project_id == scope.project_id) & (d.c.section == section)

    async def scope_for(self, project_id: object) -> MemoryScope:
        """The scope of a request's ``project_id`` (None or "": the owner's own); 404 for no such project."""
        if project_id is None or project_id == "":
            return MemoryScope()
        if not isinstance(project_id, str) or len(project_id) > 64:
            raise BadRequest("project_id must be a project id")
        async with self.store.read() as conn:
            found = (await conn.execute(select(t.projects.c.id).where(t.projects.c.id == project_id))).first()
        if found is None:
            raise NotFound(f"project not found: {project_id}")
        return MemoryScope(project_id=project_id)

    async def session_project(self, session_id: str | None) -> str | None:
        if not session_id:
            return None
        async with self.store.read() as conn:
            query = select(t.sessions.c.project_id).where(t.sessions.c.id == session_id)
            project_id: str | None = (await conn.execute(query)).scalar()
        return project_id

    # -- reading ---------------------------------------------------------------------------------

    async def document(self, scope: MemoryScope, section: str) -> Document:
        return (await self.documents([(scope, section)]))[0]

    async def documents(self, scopes: list[tuple[MemoryScope, str]]) -> list[Document]:
        """Several documents of one owner (scope and section each) in one query, in the order asked."""
        for scope, section in scopes:
            scope.check(section)
        owners = {scope.owner for scope, _section in scopes}
        if len(owners) != 1:
            raise ValueError("documents() reads one owner's documents")
        params = {"owner": owners.pop(), "projects": sorted({scope.project_id for scope, _section in scopes})}
        async with self.store.read() as conn:
            rows = {(row["project_id"], row["section"]): row
                    for row in (await conn.execute(_DOCUMENTS, params)).mappings()}
        return [_document(section, rows.get((scope.project_id, section))) for scope, section in scopes]

    async def public(self, scope: MemoryScope) -> dict[str, Any]:
        """Hermes WebUI's ``{memory, user, memory_mtime, user_mtime}`` plus revisions and limits."""
        result: dict[str, Any] = {"project_id": scope.project_id or None}
        wanted = [(scope if section == "memory" else MemoryScope(owner=scope.owner), section)
                  for section in entries.SECTIONS]
        for (_scope, section), doc in zip(wanted, await self.documents(wanted), strict=True):
            result[section] = doc.content
            result[f"{section}_mtime"] = doc.updated_at
            result[f"{section}_revision"] = doc.revision
            result[f"{section}_limit"] = self.limits[section]
            result[f"{section}_entries"] = len(entries.split(doc.content))
        return result

    async def history(self, scope: MemoryScope, section: str, limit: int = 50) -> list[dict[str, Any]]:
        scope.check(section)
        r = t.memory_revisions
        async with self.store.read() as conn:
            rows = await conn.execute(
                select(r).where(r.c.owner == scope.owner, r.c.project_id == scope.project_id, r.c.section == section)
                .order_by(r.c.revision.desc()).limit(max(1, min(limit, HISTORY)))
            )
            return [{"revision": x.revision, "content": x.content, "source": x.source, "note": x.note,
                     "session_id": x.session_id, "created_at": x.created_at} for x in rows]

    # -- writing ---------------------------------------------------------------------------------

    async def write(
        self, scope: MemoryScope, section: str, content: object, *, source: str = "api",
        expected_revision: int | None = None, note: str | None = None,
    ) -> Document:
        """Replace a whole document (the UI's save, an import)."""
        text = check_content(content)

        def replace(current: str) -> tuple[str, str]:
            return text, note or "edited"

        return await self.edit(scope, section, replace, source=source, expected_revision=expected_revision)

    async def edit(
        self, scope: MemoryScope, section: str, change: Callable[[str], tuple[str, str]], *, source: str,
        session_id: str | None = None, expected_revision: int | None = None,
    ) -> Document:
        """Apply ``change(current) -> (new content, note)`` under the document's row lock and keep the
        result as a new revision (nothing when the text is unchanged). ``change`` may raise to refuse."""
        scope.check(section)
        now = time.time()
        d = t.memory_documents
        async with self.store.write() as conn:
            await conn.execute(self.store.dialect.insert_ignore(d, {
                "owner": scope.owner, "project_id": scope.project_id, "section": section, "content": "",
                "revision": 0, "updated_at": now,
            }))
            row = (await conn.execute(select(d).where(self._where(scope, section)).with_for_update())).mappings().one()
            if expected_revision is not None and expected_revision != row["revision"]:
                raise Conflict("memory changed since it was loaded; reload it and apply your edit again",
                               revision=row["revision"])
            content, note = change(row["content"])
            check_content(content)
            if content == row["content"]:
                return Document(section, content, row["revision"], row["updated_at"])
            revision = row["revision"] + 1
            await conn.execute(update(d).where(self._where(scope, section))
                               .values(content=content, revision=revision, updated_at=now))
            await self._keep(conn, scope, section, revision, content, source, note, session_id, now)
        return Document(section, content, revision, now)

    async def _keep(
        self, conn: AsyncConnection, scope: MemoryScope, section: str, revision: int, content: str, source: str,
        note: str, session_id: str | None, now: float,
    ) -> None:
        r = t.memory_revisions
        await conn.execute(r.insert().values(
            owner=scope.owner, project_id=scope.project_id, section=section, revision=revision, content=content,
            source=source if source in SOURCES else "api", note=note[:300], session_id=session_id, created_at=now,
        ))
        await conn.execute(delete(r).where(
            r.c.owner == scope.owner, r.c.project_id == scope.project_id, r.c.section == section,
            r.c.revision <= revision - HISTORY,
        ))

    async def undo(self, scope: MemoryScope, section: str, revision: object = None) -> Document:
        """Restore ``revision`` (default: the one before the current) as a new revision."""
        scope.check(section)
        if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int) or revision < 0):
            raise BadRequest("revision must be a revision number")
        current = await self.document(scope, section)
        target = current.revision - 1 if revision is None else revision
        if target < 0 or target >= current.revision:
            raise BadRequest("nothing to undo" if revision is None else f"revision {revision} is not an earlier one")
        content = await self._revision_text(scope, section, target)

        def restore(_current: str) -> tuple[str, str]:
            return content, f"restored revision {target}"

        return await self.edit(scope, section, restore, source="undo", expected_revision=current.revision)

    async def _revision_text(self, scope: MemoryScope, section: str, revision: int) -> str:
        if revision == 0:
            return ""
        r = t.memory_revisions
        async with self.store.read() as conn:
            text = (await conn.execute(select(r.c.content).where(
                r.c.owner == scope.owner, r.c.project_id == scope.project_id, r.c.section == section,
                r.c.revision == revision,
            ))).scalar()
        if text is None:
            raise NotFound(f"revision {revision} is no longer kept (the last {HISTORY} are)")
        return str(text)
