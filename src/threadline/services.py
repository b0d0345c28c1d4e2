"""The object graph of one Threadline process, built from ``Settings``; used by the web app and the CLI."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from threadline.preferences import PreferenceService
from threadline.sessions.drafts import DraftStore, MemoryDrafts
from threadline.sessions.projects import ProjectService
from threadline.sessions.service import SessionService
from threadline.settings import Settings
from threadline.store.engine import Store


@dataclass
class Services:
    settings: Settings
    store: Store
    drafts: DraftStore
    sessions: SessionService
    projects: ProjectService
    preferences: PreferenceService
    started_at: float = field(default_factory=time.time)
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    async def open(cls, settings: Settings, *, migrate: bool = True) -> Services:
        settings.home.mkdir(parents=True, exist_ok=True)
        store = Store(settings.resolved_database_url)
        if migrate:
            await store.migrate()
        drafts = MemoryDrafts(ttl_seconds=settings.draft_ttl_seconds, cap=settings.draft_cap)
        return cls(
            settings=settings,
            store=store,
            drafts=drafts,
            sessions=SessionService(store, drafts, settings),
            projects=ProjectService(store),
            preferences=PreferenceService(store),
        )

    async def close(self) -> None:
        await self.store.close()
