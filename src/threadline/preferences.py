"""User preferences (``/api/settings``): an allowlist of keys, each with its validator and default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select

from threadline.errors import BadRequest
from threadline.store import tables as t
from threadline.store.engine import Store


def _choice(*options: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in options:
            raise BadRequest(f"must be one of {', '.join(options)}")
        return value

    return check


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRequest("must be true or false")
    return value


def _text(limit: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > limit:
            raise BadRequest(f"must be a string of at most {limit} characters")
        return value

    return check


def _int_range(low: int, high: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise BadRequest(f"must be an integer from {low} to {high}")
        return value

    return check


PREFERENCES: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "theme": ("system", _choice("light", "dark", "system")),
    "send_key": ("enter", _choice("enter", "ctrl+enter")),
    "default_model": (None, _text(300)),
    "default_workspace": (None, _text(4096)),
    "show_thinking": (True, _bool),
    "show_token_usage": (True, _bool),
    "busy_input_mode": ("queue", _choice("queue", "interrupt")),
    "sidebar_density": ("comfortable", _choice("compact", "comfortable")),
    "language": ("en", _text(16)),
    "bot_name": ("Threadline", _text(60)),
    "sound_enabled": (False, _bool),
    "notifications_enabled": (False, _bool),
    "llm_titles": (None, lambda v: v if v is None else _bool(v)),
    "title_model": (None, _text(300)),
    "onboarding_done": (False, _bool),
    "agent_max_steps": (None, lambda v: v if v is None else _int_range(1, 500)(v)),
    "memory_tool": ("ask", _choice("ask", "allow", "off")),
}


def check_preferences(changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` checked against the allowlist (each value as its validator returns it); the first
    unknown key or bad value raises ``BadRequest`` naming it."""
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in PREFERENCES:
            raise BadRequest(f"unknown setting: {key}")
        try:
            checked[key] = PREFERENCES[key][1](value)
        except BadRequest as exc:
            raise BadRequest(f"{key}: {exc.message}") from None
    return checked


class PreferenceService:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get_all(self) -> dict[str, Any]:
        values = {key: default for key, (default, _check) in PREFERENCES.items()}
        async with self.store.read() as conn:
            for key, value in await conn.execute(select(t.settings.c.key, t.settings.c.value)):
                if key in PREFERENCES:
                    values[key] = value
        return values

    async def get(self, key: str) -> Any:
        return (await self.get_all()).get(key)

    async def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Validate every key first, then write them all, so a bad key changes nothing."""
        checked = check_preferences(changes)
        async with self.store.write() as conn:
            for key, value in checked.items():
                await conn.execute(self.store.dialect.upsert(t.settings, {"key": key, "value": value}, "key"))
        return await self.get_all()

    async def get_secret(self, key: str) -> Any:
        """Internal values kept beside the preferences (the password hash, the signing key)."""
        async with self.store.read() as conn:
            row = (await conn.execute(select(t.settings.c.value).where(t.settings.c.key == key))).first()
        return row[0] if row else None

    async def set_secret(self, key: str, value: Any) -> None:
        async with self.store.write() as conn:
            if value is None:
                await conn.execute(delete(t.settings).where(t.settings.c.key == key))
            else:
                await conn.execute(self.store.dialect.upsert(t.settings, {"key": key, "value": value}, "key"))
