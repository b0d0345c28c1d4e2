"""Drafts: sessions that exist only until they get real state (DESIGN §3).

A draft is findable by id but has no row. The registry is bounded by age (TTL) and by count; eviction
never touches stored sessions. ``RedisDrafts`` (runs/redis) keeps the same interface across instances.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass
class Draft:
    id: str
    workspace: str
    model: str | None
    created_at: float = field(default_factory=time.time)
    runtime: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        return cls(**data)


def merge_extra(extra: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``extra`` (a session's or a draft's) with ``changes`` applied; a ``None`` value removes its key."""
    merged = dict(extra)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class DraftStore(Protocol):
    async def put(self, draft: Draft) -> None: ...

    async def get(self, draft_id: str) -> Draft | None: ...

    async def discard(self, draft_id: str) -> None: ...

    async def count(self) -> int: ...

    async def recent_count(self) -> int:
        """``count``, or the last one made (``/health``: no round trip per probe; on Redis a count a
        second old is remade in the background)."""
        ...


class MemoryDrafts:
    """An LRU of drafts, oldest first, with a TTL checked on access and on insert."""

    def __init__(self, *, ttl_seconds: float, cap: int) -> None:
        self.ttl = ttl_seconds
        self.cap = cap
        self._drafts: OrderedDict[str, Draft] = OrderedDict()

    def _expired(self, draft: Draft, now: float) -> bool:
        return now - draft.created_at > self.ttl

    def _evict(self) -> None:
        now = time.time()
        while self._drafts:
            oldest = next(iter(self._drafts.values()))
            if len(self._drafts) <= self.cap and not self._expired(oldest, now):
                break
            self._drafts.popitem(last=False)

    async def put(self, draft: Draft) -> None:
        self._drafts[draft.id] = draft
        self._drafts.move_to_end(draft.id)
        self._evict()

    async def get(self, draft_id: str) -> Draft | None:
        draft = self._drafts.get(draft_id)
        if draft is None:
            return None
        if self._expired(draft, time.time()):
            del self._drafts[draft_id]
            return None
        return draft

    async def discard(self, draft_id: str) -> None:
        self._drafts.pop(draft_id, None)

    async def count(self) -> int:
        self._evict()
        return len(self._drafts)

    async def recent_count(self) -> int:
        return await self.count()
