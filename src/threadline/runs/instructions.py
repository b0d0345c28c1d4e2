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
parts plug in through ``Services`` without touching the run layer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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
    def __init__(self, sections: Sequence[InstructionSection] = ()) -> None:
        unknown = [s.name for s in sections if s.name not in ORDER]
        if unknown:
            raise ValueError(f"unknown instruction sections {unknown}; the order is {ORDER}")
        self.sections = sorted([BasePrompt(), *sections], key=lambda s: ORDER.index(s.name))

    async def compose(self, target: RunTarget) -> str:
        """Every section's text in order, blank-line separated; a failing section is left out (and
        logged), never the run's end."""
        parts = []
        for section in self.sections:
            try:
                text = await section.render(target)
            except Exception:
                log.exception("the %s instructions could not be rendered; left out", section.name)
                continue
            if text and text.strip():
                parts.append(text.strip())
        return "\n\n".join(parts)
