"""The object graph of one Threadline process, built from ``Settings``; used by the web app and the CLI."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from threadline.agent.acp import AcpAgents, AgentConfigs, AgentProcesses, ProcessLimits
from threadline.agent.budget import ModelLimits
from threadline.agent.builtin import BuiltinRuntime
from threadline.agent.mcp import Limits, McpPool
from threadline.agent.providers.registry import ProviderRegistry
from threadline.agent.runtime import RuntimeRegistry
from threadline.agent.tools.base import Tool
from threadline.agent.tools.memory import MemoryTool
from threadline.agent.tools.skills import SkillSaveTool, SkillTool
from threadline.agent.tools.web import WebFetch, WebSearch
from threadline.agent.web.config import WebSettings
from threadline.agent.web.fetching import FetchLimits
from threadline.memory import MemoryService
from threadline.memory.instructions import MemorySection
from threadline.preferences import PreferenceService
from threadline.runs.compress import Compression
from threadline.runs.delivery import BackgroundDelivery
from threadline.runs.instructions import Instructions
from threadline.runs.live import LiveRun
from threadline.runs.manager import RunManager
from threadline.runs.prompts import persona_profile
from threadline.runs.relay import EndedRun, RunListener
from threadline.runs.side import SideRuns
from threadline.runs.yolo import Yolo
from threadline.schedules.endings import FiringEndings
from threadline.schedules.firings import Firings
from threadline.schedules.jobs import JobStore
from threadline.schedules.scheduler import Scheduler
from threadline.schedules.service import TaskService
from threadline.schedules.timing import local_zone_name, zone
from threadline.sessions.drafts import DraftStore, MemoryDrafts
from threadline.sessions.feed import SessionFeed
from threadline.sessions.instructions import PersonaSection, ProjectSection, SessionSection, SystemPromptSection
from threadline.sessions.notices import NoticeService
from threadline.sessions.personas import PersonaStore
from threadline.sessions.projects import ProjectService
from threadline.sessions.service import SessionService
from threadline.settings import Settings
from threadline.skills import SkillLibrary
from threadline.skills.instructions import SkillsSection
from threadline.store.engine import Store
from threadline.workspace import pool
from threadline.workspace.pool import WorkspacePool

log = logging.getLogger("threadline")

if TYPE_CHECKING:
    from threadline.cluster.node import Cluster

SDK_WARMUP_DELAY = 1.0  # seconds after start-up: by then the server answers, and a first run only waits less


@dataclass
class Services:
    settings: Settings
    store: Store
    drafts: DraftStore
    sessions: SessionService
    projects: ProjectService
    preferences: PreferenceService
    providers: ProviderRegistry
    runtimes: RuntimeRegistry
    mcp: McpPool
    agents: AcpAgents
    runs: RunManager
    side: SideRuns
    delivery: BackgroundDelivery
    memory: MemoryService
    skills: SkillLibrary
    notices: NoticeService
    tasks: TaskService
    instance_id: str
    workspace_pool: WorkspacePool
    web: WebSettings
    personas: PersonaStore
    yolo: Yolo
    started_at: float = field(default_factory=time.time)
    extras: dict[str, Any] = field(default_factory=dict)
    cluster: Cluster | None = None  # with THREADLINE_REDIS_URL
    compression: Compression | None = None  # /compress on demand

    @classmethod
    async def open(
        cls, settings: Settings, *, migrate: bool = True, env: dict[str, str] | None = None,
        listeners: Sequence[RunListener] = (),
    ) -> Services:
        """``listeners`` hear of every run's start and end (the web layer's metrics)."""
        settings.home.mkdir(parents=True, exist_ok=True)
        store = Store(settings.resolved_database_url)
        if migrate:
            await store.migrate()
        instance_id = settings.instance_id or uuid.uuid4().hex[:12]
        cluster = _connect_cluster(settings, instance_id) if settings.redis_url else None
        drafts: DraftStore = (
            cluster.drafts if cluster else MemoryDrafts(ttl_seconds=settings.draft_ttl_seconds, cap=settings.draft_cap)
        )
        sessions = SessionService(store, drafts, settings)
        sessions.feed.origin = instance_id
        preferences = PreferenceService(store)
        providers = ProviderRegistry.load(
            env=dict(os.environ) if env is None else env,
            path=settings.providers_file,
            timeout=settings.provider_timeout_seconds,
        )
        mcp = await McpPool.open(settings.mcp_file, Limits(
            call_timeout=settings.mcp_call_timeout_seconds,
            connect_timeout=settings.mcp_connect_timeout_seconds,
            retry_seconds=settings.mcp_retry_seconds,
            auth_timeout=settings.mcp_auth_timeout_seconds,
            cwd=settings.home,
        ))
        memory = MemoryService(store, limits={"memory": settings.memory_char_limit, "user": settings.user_char_limit})
        skills = SkillLibrary(settings.resolved_skills_dir, store)
        notices = NoticeService(store)
        jobs = JobStore(store)
        endings = FiringEndings(store, notices, jobs)
        web = WebSettings(settings.web_file)
        runtimes = RuntimeRegistry()
        builtin = BuiltinRuntime(
            providers,
            default_model=lambda: _default_model(preferences, settings),
            max_steps=lambda: _max_steps(preferences, settings),
            output_cap=settings.tool_output_cap,
            shell_timeout=settings.shell_timeout_seconds,
            extra_tools=lambda: _extra_tools(mcp, memory, skills, preferences, web, settings),
            limits=ModelLimits(providers, overrides=lambda: _model_overrides(preferences),
                               default_window=settings.context_window_default),
        )
        runtimes.register(builtin)
        agents = AcpAgents(AgentConfigs.load(settings.runtimes_file), AgentProcesses(ProcessLimits(
            max_processes=settings.acp_max_processes, idle_seconds=settings.acp_idle_seconds,
            request_timeout=settings.acp_request_timeout_seconds, silence=settings.acp_silence_seconds,
            shell_timeout=settings.shell_timeout_seconds, output_cap=settings.tool_output_cap,
        )), runtimes)
        delivery = BackgroundDelivery(sessions)
        everyone: list[RunListener] = [delivery, endings, ListChanges(sessions.feed), *listeners]
        if cluster is not None:
            everyone.append(cluster)
        projects = ProjectService(store)
        personas = PersonaStore(store)
        instructions = Instructions([
            SystemPromptSection(preferences),
            PersonaSection(personas),
            ProjectSection(projects),
            SessionSection(),
            MemorySection(memory, lambda: _memory_policy(preferences)),
            SkillsSection(skills, endings.skills_for_run),
        ], profile=persona_profile(personas))
        runs = RunManager(
            settings=settings, sessions=sessions, providers=providers, preferences=preferences, runtimes=runtimes,
            instance_id=instance_id, relay=cluster, owner_relay=cluster, listeners=everyone,
            instructions=instructions,
        )
        if cluster is not None:
            cluster.attach(runs)
        firings = Firings(runs=runs, sessions=sessions, notices=notices, jobs=jobs, instance_id=instance_id,
                          grace=settings.schedule_grace_seconds)
        scheduler = Scheduler(jobs, firings, poll_seconds=settings.schedule_poll_seconds)
        tasks = TaskService(jobs=jobs, firings=firings, endings=endings, scheduler=scheduler, sessions=sessions,
                            runs=runs, skills=skills, timezone=zone(settings.timezone or local_zone_name()).key)
        return cls(
            settings=settings,
            store=store,
            drafts=drafts,
            sessions=sessions,
            projects=projects,
            preferences=preferences,
            providers=providers,
            runtimes=runtimes,
            mcp=mcp,
            agents=agents,
            runs=runs,
            side=SideRuns(runs),
            delivery=delivery,
            memory=memory,
            skills=skills,
            notices=notices,
            tasks=tasks,
            instance_id=instance_id,
            workspace_pool=pool.acquire(settings.workspace_threads),
            web=web,
            personas=personas,
            yolo=Yolo(sessions, runs.approvals, notices),
            cluster=cluster,
            compression=Compression(sessions, builtin, instructions),
        )

    async def start(self) -> None:
        """Start-up work after migrations: Ollama detection, crash recovery, the provider SDKs
        imported in the background once the server answers (so the first message does not wait for
        them and the start-up does not share the interpreter with a second of imports), and the MCP
        servers (connected in the background)."""
        self.extras["sdks"] = asyncio.create_task(self._warm_sdks())
        if self.settings.detect_ollama and not self.providers.configs():
            # In the background: a slow network must not delay the server's start.
            self.extras["ollama_probe"] = asyncio.create_task(self.providers.detect_ollama())
        self.mcp.start()
        await self.runs.recover(only_expired=self.settings.redis_url is not None)
        if not self.settings.yolo_survives_restart:
            await self.yolo.reset_after_restart()
        await self.delivery.reconcile()
        await self.tasks.endings.reconcile()
        if self.settings.scheduler:
            self.tasks.scheduler.start()
        if self.cluster is not None:
            await self.cluster.start()

    async def _warm_sdks(self) -> None:
        await asyncio.sleep(SDK_WARMUP_DELAY)
        await self.providers.load_sdks()

    async def close(self) -> None:
        for name in ("ollama_probe", "sdks"):
            task = self.extras.pop(name, None)
            if task is not None:
                task.cancel()
        await self.tasks.scheduler.close()
        await self.runs.close()
        await self.runtimes.close()
        await self.mcp.close()
        await self.agents.close()
        if self.cluster is not None:
            await self.cluster.close()
        await self.providers.aclose()
        await self.store.close()
        pool.release(self.workspace_pool)


class ListChanges:
    """Tells the session list's subscribers when a chat's run starts or ends (its streaming mark, its
    order and counts change); side runs (btw, background) are not in the list."""

    HIDDEN = ("btw", "background")

    def __init__(self, feed: SessionFeed) -> None:
        self.feed = feed

    def run_started(self, live: LiveRun) -> None:
        if live.kind not in self.HIDDEN:
            self.feed.publish("run_started", live.session_id, stream_id=live.id)

    async def run_ended(self, ended: EndedRun) -> None:
        if ended.kind not in self.HIDDEN:
            self.feed.publish("run_ended", ended.session_id, stream_id=ended.run_id, status=ended.status)


def _connect_cluster(settings: Settings, instance_id: str) -> Cluster:
    """Only a clustered instance loads the Redis client (issue 11 item 3)."""
    from threadline.cluster.node import Cluster

    return Cluster.connect(settings, instance_id)


async def _default_model(preferences: PreferenceService, settings: Settings) -> str | None:
    return await preferences.get("default_model") or settings.default_model


async def _memory_policy(preferences: PreferenceService) -> str:
    return str(await preferences.get("memory_tool"))


async def _extra_tools(
    mcp: McpPool, memory: MemoryService, skills: SkillLibrary, preferences: PreferenceService, web: WebSettings,
    settings: Settings,
) -> list[Tool]:
    """The built-in runtime's tools beyond the workspace's, decided at each run's start: ``memory``
    (unless its policy is off; ``ask`` makes it ask), ``skill`` (when a skill is enabled), ``skill_save``,
    ``web_fetch``, ``web_search`` (when a search backend is configured), then the tools of the enabled
    MCP servers."""
    tools: list[Tool] = []
    policy = await _memory_policy(preferences)
    if policy != "off":
        tools.append(MemoryTool(memory, asks=policy == "ask"))
    try:
        if await skills.enabled():
            tools.append(SkillTool(skills))
    except OSError:
        log.warning("the skills folder cannot be read; the skill tool is left out of this run", exc_info=True)
    tools.append(SkillSaveTool(skills))
    tools += web_tools(web, settings)
    return [*tools, *await mcp.run_tools()]


def web_tools(web: WebSettings, settings: Settings) -> list[Tool]:
    """``web_fetch`` with the configuration in force, and ``web_search`` when a backend is ready."""
    config = web.config
    limits = FetchLimits(timeout=settings.web_timeout_seconds, max_bytes=settings.web_fetch_max_bytes,
                         max_redirects=settings.web_max_redirects)
    tools: list[Tool] = [WebFetch(config.reach, limits)]
    backend = config.backend()
    if backend is not None:
        tools.append(WebSearch(backend, timeout=settings.web_timeout_seconds))
    return tools


async def _model_overrides(preferences: PreferenceService) -> tuple[dict[str, Any], dict[str, Any]]:
    values = await preferences.get_many("context_windows", "vision_models")
    return dict(values["context_windows"] or {}), dict(values["vision_models"] or {})


async def _max_steps(preferences: PreferenceService, settings: Settings) -> int:
    return int(await preferences.get("agent_max_steps") or settings.agent_max_steps)
