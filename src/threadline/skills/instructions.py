"""The ``skills`` instruction section (DESIGN §8 context order): the index of enabled skills, each
one's name and description, and the full instructions of the skills a run was started with (a
scheduled task's ``skills``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from threadline.errors import NotFound
from threadline.skills.library import SkillLibrary

MAX_LISTED = 200
MAX_DESCRIPTION_SHOWN = 300

Preloads = Callable[[str, str], Awaitable[list[str]]]  # a run's id and kind -> the skills it starts with


class Target(Protocol):
    """What the section reads of a run (``runs.instructions.RunTarget``)."""

    @property
    def run_id(self) -> str: ...

    @property
    def kind(self) -> str: ...


class SkillsSection:
    name = "skills"

    def __init__(self, library: SkillLibrary, preloads: Preloads | None = None) -> None:
        self.library = library
        self.preloads = preloads

    async def render(self, target: Target) -> str | None:
        parts: list[str] = []
        skills = await self.library.enabled()
        if skills:
            lines = [f"- {s.name}: {_short(s.description)}" for s in skills[:MAX_LISTED]]
            if len(skills) > MAX_LISTED:
                lines.append(f"- … and {len(skills) - MAX_LISTED} more (not listed)")
            parts.append(
                "## Skills\nSkills are instructions for particular kinds of task. When a task matches one, load it "
                "with the `skill` tool (its name) before you start and follow it; load the files it refers to "
                "with the same tool (name and file).\n" + "\n".join(lines)
            )
        for name in await self.preloads(target.run_id, target.kind) if self.preloads and target.run_id else []:
            try:
                content = await self.library.content(name)
            except NotFound:
                parts.append(f"## Skill {name}\n(this task names the skill {name!r}, which no longer exists)")
                continue
            if content["enabled"]:
                parts.append(f"## Skill {name} (this task uses it)\n{content['body']}")
        return "\n\n".join(parts) or None


def _short(text: str) -> str:
    return text if len(text) <= MAX_DESCRIPTION_SHOWN else text[: MAX_DESCRIPTION_SHOWN - 1] + "…"
