"""Dependencies for route signatures, as named ``Annotated`` aliases.

Each is an ``async def`` that reads an attribute: FastAPI runs a plain ``def`` dependency in its
thread pool, which would cost every request a round trip through a worker thread (issue 18 item 5)."""

from __future__ import annotations

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


async def _sessions(services: ServicesDep) -> SessionService:
    return services.sessions


async def _projects(services: ServicesDep) -> ProjectService:
    return services.projects


async def _preferences(services: ServicesDep) -> PreferenceService:
    return services.preferences


async def _settings(services: ServicesDep) -> Settings:
    return services.settings


async def _runs(services: ServicesDep) -> RunManager:
    return services.runs


async def _providers(services: ServicesDep) -> ProviderRegistry:
    return services.providers


async def _side(services: ServicesDep) -> SideRuns:
    return services.side


async def _runtimes(services: ServicesDep) -> RuntimeRegistry:
    return services.runtimes


async def _memory(services: ServicesDep) -> MemoryService:
    return services.memory


async def _skills(services: ServicesDep) -> SkillLibrary:
    return services.skills


async def _tasks(services: ServicesDep) -> TaskService:
    return services.tasks


async def _notices(services: ServicesDep) -> NoticeService:
    return services.notices


MemoryDep = Annotated[MemoryService, Depends(_memory)]
SkillsDep = Annotated[SkillLibrary, Depends(_skills)]
TasksDep = Annotated[TaskService, Depends(_tasks)]
NoticesDep = Annotated[NoticeService, Depends(_notices)]
SideDep = Annotated[SideRuns, Depends(_side)]
RuntimesDep = Annotated[RuntimeRegistry, Depends(_runtimes)]
RunsDep = Annotated[RunManager, Depends(_runs)]
ProvidersDep = Annotated[ProviderRegistry, Depends(_providers)]
SessionsDep = Annotated[SessionService, Depends(_sessions)]
ProjectsDep = Annotated[ProjectService, Depends(_projects)]
PreferencesDep = Annotated[PreferenceService, Depends(_preferences)]
SettingsDep = Annotated[Settings, Depends(_settings)]

JSON = dict[str, Any]
