"""Dependencies for route signatures, as named ``Annotated`` aliases."""

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


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _sessions(services: ServicesDep) -> SessionService:
    return services.sessions


def _projects(services: ServicesDep) -> ProjectService:
    return services.projects


def _preferences(services: ServicesDep) -> PreferenceService:
    return services.preferences


def _settings(services: ServicesDep) -> Settings:
    return services.settings


def _runs(services: ServicesDep) -> RunManager:
    return services.runs


def _providers(services: ServicesDep) -> ProviderRegistry:
    return services.providers


def _side(services: ServicesDep) -> SideRuns:
    return services.side


def _runtimes(services: ServicesDep) -> RuntimeRegistry:
    return services.runtimes


def _memory(services: ServicesDep) -> MemoryService:
    return services.memory


def _skills(services: ServicesDep) -> SkillLibrary:
    return services.skills


def _tasks(services: ServicesDep) -> TaskService:
    return services.tasks


def _notices(services: ServicesDep) -> NoticeService:
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
