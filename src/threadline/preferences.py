"""User preferences (``/api/settings``): an allowlist of keys, each with its validator and default."""

from __future__ import annotations

import asyncio
import copy
import re
import time
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


def _number_range(low: float, high: float) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise BadRequest(f"must be a number from {low} to {high}")
        return value

    return check


def _pattern(regex: str, what: str) -> Callable[[Any], Any]:
    compiled = re.compile(regex)

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise BadRequest(f"must be {what}")
        return value

    return check


def _names(limit: int = 100, allowed: frozenset[str] | None = None) -> Callable[[Any], Any]:
    """A list of distinct short names (Hermes WebUI's tab and control orders)."""

    def check(value: Any) -> Any:
        if not isinstance(value, list) or len(value) > limit:
            raise BadRequest(f"must be a list of at most {limit} names")
        if any(not isinstance(v, str) or not 0 < len(v) <= 64 for v in value) or len(set(value)) != len(value):
            raise BadRequest("must hold distinct names of 1 to 64 characters")
        if allowed is not None and not set(value) <= allowed:
            raise BadRequest(f"may only name {', '.join(sorted(allowed))}")
        return value

    return check


def _switches(value: Any) -> Any:
    if not isinstance(value, dict) or len(value) > 200:
        raise BadRequest("must be an object of at most 200 names")
    if any(not 0 < len(k) <= 64 or not isinstance(v, bool) for k, v in value.items()):
        raise BadRequest("must map names of 1 to 64 characters to true or false")
    return value


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else check(value)


# Hermes WebUI's preferences (its settings allowlist), kept and returned with Hermes' values; most
# only matter to a Hermes client, the ones Threadline's UI uses are above them in PREFERENCES.
SKINS = ("default", "ares", "mono", "graphite", "slate", "poseidon", "sisyphus", "charizard", "sienna", "catppuccin",
         "nous", "geist-contrast", "zeus", "verdigris", "neon-soft", "neon-paint")
LEGACY_THEMES = {"slate": "slate", "solarized": "poseidon", "monokai": "sisyphus", "nord": "slate", "oled": "default"}
SPEECH_KEYS = ("tts_enabled", "tts_auto_read", "tts_engine", "tts_voice", "tts_rate", "tts_pitch", "voice_mode_button",
               "voice_continuous", "voice_silence_ms", "raw_audio_mode")
COMPOSER_CONTROLS = ("attach", "saved_prompts", "mic", "voice_mode", "yolo", "profile", "workspace", "mobile_config",
                     "model", "quota_chip", "reasoning", "toolsets", "status", "context", "bg_badge")
HERMES_SWITCHES = {  # key: default
    "show_quota_chip": False, "show_conversation_outline": False, "show_busy_placeholder_hint": True,
    "hide_empty_state_suggestions": False, "hide_empty_state_panel": False, "new_chat_on_workspace_switch": False,
    "virtualize_transcript": False, "virtualize_transcript_optin": False, "show_tps": False, "fade_text_effect": False,
    "show_cli_sessions": False, "show_claude_code_sessions": True, "show_cron_sessions": False,
    "show_webhook_sessions": False, "show_kanban_sessions": False, "show_previous_messaging_sessions": False,
    "sync_to_insights": False, "check_for_updates": True, "ignore_agent_updates": False,
    "whats_new_summary_enabled": False, "tts_enabled": False, "tts_auto_read": False, "voice_mode_button": False,
    "voice_continuous": False, "raw_audio_mode": False, "rtl": False, "terminal_auto_expand_on_output": False,
    "workspace_todos_tab": False, "api_redact_enabled": True, "session_jump_buttons": False,
    "render_user_markdown": False, "large_text_paste_as_attachment": True, "project_quick_create_buttons": False,
    "session_endless_scroll": False, "transparent_stream_event_timestamps": True, "auto_scroll_follow": True,
    "worklog_details_expanded_default": False, "auth_disabled_acknowledged": False, "show_titlebar_profile": False,
    **{f"hide_composer_{name}": False for name in COMPOSER_CONTROLS},
}
HERMES_PREFERENCES: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "skin": ("default", _choice(*SKINS)),
    "font_size": ("default", _choice("small", "default", "large", "xlarge")),
    "auto_title_refresh_every": ("0", _choice("0", "5", "10", "20")),
    "update_channel": ("stable", _choice("stable", "experimental")),
    "chat_activity_display_mode": ("compact_worklog",
                                   _choice("compact_worklog", "transparent_stream", "hide_all_activity")),
    "structured_code_default_view": ("auto", _choice("auto", "on", "off")),
    "structured_code_auto_tree_lines": (10, _int_range(1, 1000)),
    "pinned_sessions_limit": (3, _int_range(1, 99)),
    "inflight_state_max_sessions": (8, _int_range(1, 25)),
    "inflight_state_max_messages": (24, _int_range(1, 100)),
    "inflight_state_max_tool_calls": (48, _int_range(1, 200)),
    "inflight_state_max_string_chars": (60000, _int_range(1000, 500000)),
    "inflight_state_max_json_chars": (1500000, _int_range(100000, 4000000)),
    "voice_silence_ms": (1800, _int_range(200, 60000)),
    "tts_rate": (1.0, _number_range(0.5, 2.0)),
    "tts_pitch": (1.0, _number_range(0.0, 2.0)),
    "tts_engine": ("browser", _pattern(r"[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}", "a name of letters, digits, _ and -")),
    "tts_voice": ("", _pattern(r"[^\x00]{0,200}", "a string of at most 200 characters")),
    "hidden_tabs": ([], _names()),
    "tab_order": ([], _names()),
    "composer_control_order": ([], _names(allowed=frozenset(f"hide_composer_{n}" for n in COMPOSER_CONTROLS))),
    "dashboard_plugins": ({}, _switches),
    "provider_cost_budget": (None, _optional(_number_range(0.01, 1e9 - 0.01))),
    **{key: (default, _bool) for key, default in HERMES_SWITCHES.items()},
}

def _per_model(check: Callable[[Any], Any], limit: int = 200) -> Callable[[Any], Any]:
    """A map of model references (``provider/model`` or a bare model name) to values ``check`` accepts."""

    def check_map(value: Any) -> Any:
        if not isinstance(value, dict) or len(value) > limit:
            raise BadRequest(f"must be an object of at most {limit} models")
        for key, item in value.items():
            if not key or len(key) > 300:
                raise BadRequest("model names must be 1 to 300 characters")
            try:
                check(item)
            except BadRequest as exc:
                raise BadRequest(f"{key}: {exc.message}") from None
        return value

    return check_map


PREFERENCES: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "theme": ("system", _choice("light", "dark", "system")),
    "send_key": ("enter", _choice("enter", "ctrl+enter", "shift+enter")),
    "default_model": (None, _text(300)),
    "default_workspace": (None, _text(4096)),
    "show_thinking": (True, _bool),
    "show_token_usage": (True, _bool),
    "busy_input_mode": ("queue", _choice("queue", "interrupt", "steer")),
    "sidebar_density": ("comfortable", _choice("compact", "comfortable", "detailed")),
    "language": ("en", _pattern(r"[a-zA-Z]{2,10}(-[a-zA-Z0-9]{2,8})?", "a language tag such as en or zh-CN")),
    "bot_name": ("Threadline", _text(60)),
    "sound_enabled": (False, _bool),
    "notifications_enabled": (False, _bool),
    "llm_titles": (None, _optional(_bool)),
    "title_model": (None, _text(300)),
    "onboarding_done": (False, _bool),
    "agent_max_steps": (None, _optional(_int_range(1, 500))),
    "memory_tool": ("ask", _choice("ask", "allow", "off")),
    "system_prompt": (None, _text(20_000)),  # the global instructions, after the base prompt (DESIGN §8)
    "context_windows": ({}, _per_model(_int_range(1_024, 100_000_000))),
    "vision_models": ({}, _per_model(_bool)),
    **HERMES_PREFERENCES,
}
ALIASES = {"default_message_mode": "busy_input_mode", "onboarding_completed": "onboarding_done"}
"""Hermes WebUI's names for a Threadline preference: accepted, stored under the Threadline name, and
returned under both."""
_NAMES = tuple(sorted(PREFERENCES))  # the rows a read of the preferences decodes (never the secrets beside them)
FRESH_SECONDS = 1.0  # a read of the preferences serves the reads after it for this long


def check_preferences(changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` checked against the allowlist (each value as its validator returns it, under its
    Threadline name); the first unknown key or bad value raises ``BadRequest`` naming it. A legacy
    Hermes theme (``slate``, ``nord``...) becomes ``dark`` with its skin, as in Hermes WebUI."""
    checked: dict[str, Any] = {}
    legacy_skin = None
    for key, value in changes.items():
        name = ALIASES.get(key, key)
        if name not in PREFERENCES:
            raise BadRequest(f"unknown setting: {key}")
        if name == "theme" and isinstance(value, str) and value in LEGACY_THEMES:
            value, legacy_skin = "dark", LEGACY_THEMES[value]
        try:
            value = PREFERENCES[name][1](value)
        except BadRequest as exc:
            raise BadRequest(f"{key}: {exc.message}") from None
        if name in checked and checked[name] != value:
            raise BadRequest(f"{key}: sent twice, under two names, with different values")
        checked[name] = value
    if legacy_skin is not None:
        checked.setdefault("skin", legacy_skin)
    return checked


class PreferenceService:
    """The preferences, read from the ``settings`` table at most once every ``FRESH_SECONDS``: a run
    reads several at its start and end (the default model, the memory policy, titles...), and under
    load each read was a round trip waiting for the busy event loop, before the first token. A change
    made here is seen at once; one made on another instance of a cluster within ``FRESH_SECONDS``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._read: tuple[float, dict[str, Any]] | None = None  # (when, the stored preferences)
        self._reading: asyncio.Future[dict[str, Any]] | None = None  # the read under way, shared
        self._changes = 0  # updates made here: a read that overlapped one is not kept

    async def _stored(self) -> dict[str, Any]:
        """The stored preferences: the last read while it is fresh, else the read under way (a burst
        of run starts makes one query, not one each), else a new one."""
        read = self._read
        if read is not None and time.monotonic() - read[0] < FRESH_SECONDS:
            return read[1]
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read_stored())
        return await asyncio.shield(self._reading)  # one caller cancelled leaves the read to the others

    async def _read_stored(self) -> dict[str, Any]:
        changes, began = self._changes, time.monotonic()
        settings = t.settings
        async with self.store.read() as conn:
            rows = await conn.execute(select(settings.c.key, settings.c.value).where(settings.c.key.in_(_NAMES)))
            stored = {key: value for key, value in rows}
        if changes == self._changes:
            self._read = (began, stored)
        return stored

    async def get_all(self) -> dict[str, Any]:
        """Every preference (stored, else its default), the aliases too, and ``persisted_speech_keys``:
        the speech preferences the user saved (Hermes WebUI's field)."""
        stored = await self._stored()
        values = {key: copy.deepcopy(stored[key]) if key in stored else default
                  for key, (default, _check) in PREFERENCES.items()}
        values.update({alias: values[name] for alias, name in ALIASES.items()})
        values["persisted_speech_keys"] = sorted(set(SPEECH_KEYS).intersection(stored))
        return values

    async def get(self, key: str) -> Any:
        return (await self.get_many(key))[key]

    async def get_many(self, *keys: str) -> dict[str, Any]:
        """These preferences (stored, else their defaults; an alias answers as its name)."""
        names = {key: ALIASES.get(key, key) for key in keys}
        if not all(name in PREFERENCES for name in names.values()):
            values = await self.get_all()
            return {key: values.get(key) for key in keys}
        stored = await self._stored()
        return {key: copy.deepcopy(stored[name]) if name in stored else PREFERENCES[name][0]
                for key, name in names.items()}

    async def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Validate every key first, then write them all, so a bad key changes nothing."""
        checked = check_preferences(changes)
        try:
            async with self.store.write() as conn:
                for key, value in checked.items():
                    await conn.execute(self.store.dialect.upsert(t.settings, {"key": key, "value": value}, "key"))
        finally:  # committed or not, the next read goes to the database (not to one begun before)
            self._changes += 1
            self._read = self._reading = None
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
