"""The instructions a run's model is given, assembled in one documented order (DESIGN §8):

    1. the base prompt (who the agent is, its workspace)
    2. the global ``system_prompt`` setting
    3. the session's persona
    4. the project's ``instructions``
    5. the session's ``instructions``
    6. memory
    7. the skill index

then the history (compacted when over budget) and the user's message with its attachments. Each part
is an ``InstructionSection``; the run layer asks them in ``ORDER`` and joins what they return. New
parts plug in through ``Services`` without touching the run layer. Besides its text, the session's
persona sets the run's model parameters and tools: a ``RunProfile``, from the ``profile`` hook.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from threadline.agent.params import ModelParams

log = logging.getLogger("threadline.runs")

ORDER = ("base", "system_prompt", "persona", "project", "session", "memory", "skills")


@dataclass(frozen=True)
class RunTarget:
    """What a section may look at: the session as stored when the run starts."""

    session_id: str
    kind: str
    workspace: str
    project_id: str | None
    extra: dict[str, Any]
    run_id: str = ""


@dataclass(frozen=True)
class RunProfile:
    """What the session's persona sets for a run besides its text (nothing without a persona)."""

    persona: str | None = None
    params: ModelParams = field(default_factory=ModelParams)
    tools: frozenset[str] | None = None  # None: every tool the run has


Profile = Callable[[RunTarget], Awaitable[RunProfile]]


class InstructionSection(Protocol):
    name: str  # one of ORDER

    async def render(self, target: RunTarget) -> str | None: ...


class BasePrompt:
    name = "base"

    async def render(self, target: RunTarget) -> str | None:
        return (
            "You are a capable assistant working for the user in a workspace folder on their machine: "
            f"{target.workspace}\n"
            "You can list, read, search, write and edit files there and run shell commands in it; paths are "
            "relative to the workspace. Use tools when they help, explain what you did, and answer in Markdown."
        )


class Instructions:
    def __init__(self, sections: Sequence[InstructionSection] = (), profile: Profile | None = None) -> None:
        unknown = [s.name for s in sections if s.name not in ORDER]
        if unknown:
            raise ValueError(f"unknown instruction sections {unknown}; the order is {ORDER}")
        self.sections = sorted([BasePrompt(), *sections], key=lambda s: ORDER.index(s.name))
        self._profile = profile

    async def parts(self, target: RunTarget) -> list[tuple[str, str]]:
        """Each section's name and text in order, the empty ones left out; a failing section is left
        out (and logged), never the run's end."""
        parts = []
        for section in self.sections:
            try:
                text = await section.render(target)
            except Exception:
                log.exception("the %s instructions could not be rendered; left out", section.name)
                continue
            if text and text.strip():
                parts.append((section.name, text.strip()))
        return parts

    async def compose(self, target: RunTarget) -> str:
        """Every section's text in order, blank-line separated."""
        return join(await self.parts(target))

    async def profile(self, target: RunTarget) -> RunProfile:
        """The run's parameters and tools; the defaults when there is no persona or it cannot be read."""
        if self._profile is None:
            return RunProfile()
        try:
            return await self._profile(target)
        except Exception:
            log.exception("the persona's settings could not be read; the run goes on without them")
            return RunProfile()


def join(parts: Sequence[tuple[str, str]]) -> str:
    return "\n\n".join(text for _name, text in parts)
