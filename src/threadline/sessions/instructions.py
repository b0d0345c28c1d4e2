"""The instruction sections the owner writes (DESIGN §8 context order): the global ``system_prompt``
setting, the session's persona, the project's ``instructions`` and the session's ``instructions``.
Each is an ``InstructionSection`` of ``runs/instructions.py``; ``persona_settings`` gives the run the
persona's model parameters and tools."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from threadline.preferences import PreferenceService
from threadline.sessions.personas import PersonaStore
from threadline.sessions.projects import ProjectService
from threadline.sessions.views import INSTRUCTIONS, PERSONA

log = logging.getLogger("threadline.sessions")


class Target(Protocol):
    """What the sections read of a run (``runs.instructions.RunTarget``)."""

    @property
    def project_id(self) -> str | None: ...

    @property
    def extra(self) -> dict[str, Any]: ...


class SystemPromptSection:
    name = "system_prompt"

    def __init__(self, preferences: PreferenceService) -> None:
        self.preferences = preferences

    async def render(self, target: Target) -> str | None:
        value = await self.preferences.get("system_prompt")
        return value if isinstance(value, str) else None


class PersonaSection:
    name = "persona"

    def __init__(self, personas: PersonaStore) -> None:
        self.personas = personas

    async def render(self, target: Target) -> str | None:
        persona = await session_persona(self.personas, target)
        if persona is None or not persona["prompt"].strip():
            return None
        return f"## Persona: {persona['name']}\n{persona['prompt'].strip()}"


class ProjectSection:
    name = "project"

    def __init__(self, projects: ProjectService) -> None:
        self.projects = projects

    async def render(self, target: Target) -> str | None:
        if not target.project_id:
            return None
        text = await self.projects.instructions(target.project_id)
        return f"## Project instructions\n{text.strip()}" if text.strip() else None


class SessionSection:
    name = "session"

    async def render(self, target: Target) -> str | None:
        text = target.extra.get(INSTRUCTIONS)
        return f"## Instructions for this chat\n{text.strip()}" if isinstance(text, str) and text.strip() else None


async def session_persona(personas: PersonaStore, target: Target) -> dict[str, Any] | None:
    """The persona the session chose, or ``None`` (none chosen, or deleted since: the run goes on
    without it)."""
    name = target.extra.get(PERSONA)
    if not isinstance(name, str) or not name:
        return None
    persona = await personas.get(name)
    if persona is None:
        log.info("the persona %r of a session no longer exists; left out", name)
    return persona
