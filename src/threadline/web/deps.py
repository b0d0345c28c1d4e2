"""Dependencies for route signatures, as named ``Annotated`` aliases.

Each is an ``async def`` that reads an attribute: FastAPI runs a plain ``def`` dependency in its
thread pool, which would cost every request a round trip through a worker thread (issue 18 item 5)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from threadline.agent.providers.registry import ProviderRegistry
from threadline.agent.runtime import RuntimeRegistry
from threadline.memory import MemoryService
from threadline.preferences import PreferenceService
from threadline.runs.manager import RunManager
from threadline.runs.side import SideRuns
from threadline.schedules.service import TaskService
from threadline.services import Services
from threadline.sessions.notices import NoticeService
from threadline.sessions.projects import ProjectService
from threadline.sessions.service import SessionService
from threadline.settings import Settings
from threadline.skills import SkillLibrary


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _part(name: str) -> Callable[[Services], Awaitable[Any]]:
    """A dependency that gives ``services.<name>``."""

    async def part(services: ServicesDep) -> Any:
        return getattr(services, name)

    part.__name__ = f"services_{name}"
    return part


MemoryDep = Annotated[MemoryService, Depends(_part("memory"))]
SkillsDep = Annotated[SkillLibrary, Depends(_part("skills"))]
TasksDep = Annotated[TaskService, Depends(_part("tasks"))]
NoticesDep = Annotated[NoticeService, Depends(_part("notices"))]
SideDep = Annotated[SideRuns, Depends(_part("side"))]
RuntimesDep = Annotated[RuntimeRegistry, Depends(_part("runtimes"))]
RunsDep = Annotated[RunManager, Depends(_part("runs"))]
ProvidersDep = Annotated[ProviderRegistry, Depends(_part("providers"))]
SessionsDep = Annotated[SessionService, Depends(_part("sessions"))]
ProjectsDep = Annotated[ProjectService, Depends(_part("projects"))]
PreferencesDep = Annotated[PreferenceService, Depends(_part("preferences"))]
SettingsDep = Annotated[Settings, Depends(_part("settings"))]

JSON = dict[str, Any]
