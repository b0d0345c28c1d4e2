"""The ``memory`` instruction section (DESIGN §8 context order): the owner's two documents and the
session's project memory, each within its budget, a cut shown as such, and how to keep them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from sqlalchemy import select

from threadline.memory import entries
from threadline.memory.service import MemoryScope, MemoryService
from threadline.store import tables as t

Policy = Callable[[], Awaitable[str]]  # "ask" | "allow" | "off": the memory tool's setting

TITLES = {
    "memory": "What you have learned (MEMORY.md)",
    "user": "About the user (USER.md)",
    "project": "About this project ({name})",
}


class Target(Protocol):
    """What the section reads of a run (``runs.instructions.RunTarget``)."""

    @property
    def project_id(self) -> str | None: ...


def block(title: str, content: str, budget: int) -> str:
    shown, cut = entries.within(content, budget)
    head = f"### {title}: {len(content.strip()):,}/{budget:,} characters"
    if cut:
        shown += (f"\n[… {cut:,} characters left out: this document is over its {budget:,}-character budget, "
                  "so its last entries are not shown. Consolidate it with the memory tool.]")
    return f"{head}\n{shown}"


class MemorySection:
    name = "memory"

    def __init__(self, memory: MemoryService, policy: Policy) -> None:
        self.memory = memory
        self.policy = policy

    async def render(self, target: Target) -> str | None:
        policy = await self.policy()
        blocks = []
        wanted = [(MemoryScope(), section) for section in entries.SECTIONS]
        if target.project_id:
            wanted.append((MemoryScope(project_id=target.project_id), "memory"))
        documents = await self.memory.documents(wanted)  # one query, not one per document
        for doc in documents[:len(entries.SECTIONS)]:
            if doc.content.strip():
                blocks.append(block(TITLES[doc.section], doc.content, self.memory.limits[doc.section]))
        if target.project_id:
            doc = documents[-1]
            if doc.content.strip():
                title = TITLES["project"].format(name=await self._project_name(target.project_id))
                blocks.append(block(title, doc.content, self.memory.limits["memory"]))
        if policy == "off":
            if not blocks:
                return None
            how = "These notes persist across sessions; they are read-only here (the memory tool is off)."
        else:
            how = ("Keep durable facts with the `memory` tool (add, replace, remove; entries are separated by a "
                   "line holding only §): the user's preferences and circumstances go to `user`, what you learn "
                   "about the environment, conventions and lessons to `memory`"
                   + (" (scope `project` for what only concerns this project)" if target.project_id else "")
                   + ". Do not store secrets or what only matters for the current task.")
            if not blocks:
                blocks.append("(nothing remembered yet)")
        return "\n\n".join(["## Memory", how, *blocks])

    async def _project_name(self, project_id: str) -> str:
        async with self.memory.store.read() as conn:
            name = (await conn.execute(select(t.projects.c.name).where(t.projects.c.id == project_id))).scalar()
        return str(name or project_id)
