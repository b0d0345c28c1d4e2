"""Personas (Hermes WebUI's "personalities"): a named prompt with a model, the model parameters
(``temperature``, ``max_tokens``, ``reasoning_effort``) and the tools a run may use, chosen per
session. Each persona is one row of the ``settings`` table (key ``persona.<name>``), so saving one
never rewrites another. ``check_persona`` refuses bad input before anything is written.

Also the instruction texts kept beside them: the ``instructions`` of a session (``sessions.extra``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from sqlalchemy import delete, select

from threadline.errors import BadRequest, NotFound
from threadline.store import tables as t
from threadline.store.engine import Store

KEY_PREFIX = "persona."
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
PROMPT_MAX = 20_000
INSTRUCTIONS_MAX = 20_000
DESCRIPTION_MAX = 500
MODEL_MAX = 300
TOOL_NAME_MAX = 128
TOOLS_MAX = 500
MAX_TOKENS_LIMIT = 1_000_000
PERSONAS_MAX = 200
EFFORTS = ("minimal", "low", "medium", "high")
FIELDS = ("name", "description", "prompt", "model", "temperature", "max_tokens", "reasoning_effort", "tools")


def check_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("name is required")
    name = value.strip()
    if not NAME.match(name):
        raise BadRequest("name must be 1-64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit")
    return name


def check_text(field: str, value: object, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string")
    if len(value) > limit:
        raise BadRequest(f"{field} is longer than {limit:,} characters")
    return value


def check_instructions(value: object) -> str:
    return check_text("instructions", value, INSTRUCTIONS_MAX)


def _temperature(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= 2:
        raise BadRequest("temperature must be a number from 0 to 2, or null")
    return float(value)


def _max_tokens(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOKENS_LIMIT:
        raise BadRequest(f"max_tokens must be an integer from 1 to {MAX_TOKENS_LIMIT:,}, or null")
    return value


def _effort(value: object) -> str | None:
    if value is None or value == "":
        return None
    if value not in EFFORTS:
        raise BadRequest(f"reasoning_effort must be one of {', '.join(EFFORTS)}, or null")
    return str(value)


def _tools(value: object) -> list[str] | None:
    """``None``: every tool the run would have; a list: only those (an empty list: none)."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > TOOLS_MAX:
        raise BadRequest(f"tools must be a list of at most {TOOLS_MAX} tool names, or null for every tool")
    names: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > TOOL_NAME_MAX:
            raise BadRequest(f"tools: each entry must be a tool name of 1-{TOOL_NAME_MAX} characters")
        if item.strip() not in names:
            names.append(item.strip())
    return names


def check_persona(body: object) -> dict[str, Any]:
    """A persona from a request body, every field checked; unknown fields are refused."""
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise BadRequest(f"unknown persona fields: {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    model = check_text("model", body.get("model"), MODEL_MAX).strip()
    return {
        "name": check_name(body.get("name")),
        "description": check_text("description", body.get("description"), DESCRIPTION_MAX).strip(),
        "prompt": check_text("prompt", body.get("prompt"), PROMPT_MAX),
        "model": model or None,
        "temperature": _temperature(body.get("temperature")),
        "max_tokens": _max_tokens(body.get("max_tokens")),
        "reasoning_effort": _effort(body.get("reasoning_effort")),
        "tools": _tools(body.get("tools")),
    }


def _stored(name: str, value: Any) -> dict[str, Any] | None:
    """A stored persona as it is read back; a row that no longer checks is left out."""
    try:
        return check_persona({k: v for k, v in (value or {}).items() if k in FIELDS} | {"name": name})
    except (BadRequest, AttributeError):
        return None


class PersonaStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def list(self) -> list[dict[str, Any]]:
        s = t.settings
        async with self.store.read() as conn:
            rows = await conn.execute(select(s.c.key, s.c.value).where(s.c.key.startswith(KEY_PREFIX)))
            found = [_stored(key.removeprefix(KEY_PREFIX), value) for key, value in rows]
        return sorted((p for p in found if p is not None), key=lambda p: p["name"].lower())

    async def get(self, name: str) -> dict[str, Any] | None:
        """The persona called ``name``, or ``None``."""
        if not isinstance(name, str) or not NAME.match(name):
            return None
        s = t.settings
        async with self.store.read() as conn:
            value = (await conn.execute(select(s.c.value).where(s.c.key == KEY_PREFIX + name))).scalar()
        return _stored(name, value) if value is not None else None

    async def require(self, name: object) -> dict[str, Any]:
        persona = await self.get(name) if isinstance(name, str) else None
        if persona is None:
            raise NotFound(f"persona not found: {str(name)[:64]}")
        return persona

    async def save(self, body: object) -> dict[str, Any]:
        """Create or replace a persona (by name)."""
        persona = check_persona(body)
        s = t.settings
        key = KEY_PREFIX + persona["name"]
        async with self.store.write() as conn:
            exists = (await conn.execute(select(s.c.key).where(s.c.key == key))).first() is not None
            if not exists:
                count = len((await conn.execute(select(s.c.key).where(s.c.key.startswith(KEY_PREFIX)))).all())
                if count >= PERSONAS_MAX:
                    raise BadRequest(f"at most {PERSONAS_MAX} personas; delete one first")
            value = {k: v for k, v in persona.items() if k != "name"}
            await conn.execute(self.store.dialect.upsert(s, {"key": key, "value": value}, "key"))
        return persona

    async def delete(self, name: object) -> None:
        """Delete a persona; sessions that chose it go on without it."""
        name = check_name(name)
        async with self.store.write() as conn:
            result = await conn.execute(delete(t.settings).where(t.settings.c.key == KEY_PREFIX + name))
            if result.rowcount == 0:
                raise NotFound(f"persona not found: {name}")


async def session_changes(
    personas: PersonaStore, *, instructions: object = None, persona: object = None, model: str | None = None,
) -> tuple[str | None, dict[str, Any]]:
    """A session update's model and ``extra`` changes for its ``instructions`` and ``persona``, checked
    before anything is written: ``""`` clears either; an unknown persona is a 404. Choosing a persona
    that names a model also makes that the session's model, unless the update names one itself."""
    extra: dict[str, Any] = {}
    if instructions is not None:
        extra["instructions"] = check_instructions(instructions) or None
    if persona is not None:
        if persona == "":
            extra["persona"] = None
        else:
            chosen = await personas.require(persona)
            extra["persona"] = chosen["name"]
            if model is None and chosen["model"]:
                model = chosen["model"]
    return model, extra
