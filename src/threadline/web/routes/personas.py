"""Personas under Hermes WebUI's names (reference §2.1, §2.7): ``/api/personalities`` lists, saves and
deletes them, ``/api/personality/set`` chooses one for a session; and a session's effective prompt
(``/api/session/prompt``): the exact system text, model, parameters and tools of its next run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from threadline.agent.builtin import BuiltinRuntime
from threadline.errors import BadRequest
from threadline.runs.prompts import effective_prompt
from threadline.sessions.personas import PersonaStore, check_name, session_changes
from threadline.web.deps import JSON, ServicesDep
from threadline.web.schemas import JSONObject

router = APIRouter(prefix="/api", tags=["personas"])


async def _personas(services: ServicesDep) -> PersonaStore:
    return services.personas


PersonasDep = Annotated[PersonaStore, Depends(_personas)]


@router.get("/personalities")
async def list_personas(personas: PersonasDep, services: ServicesDep) -> JSON:
    """Every persona ``{name, description, prompt, model, temperature, max_tokens, reasoning_effort,
    tools}`` by name, and ``available_tools``: the tool names a persona may pick from (the built-in
    agent's, with the MCP servers' that are connected now)."""
    runtime = services.runtimes.get(None)
    tools = (await runtime.default_tools(clarify=True)).names() if isinstance(runtime, BuiltinRuntime) else []
    return {"personalities": await personas.list(), "available_tools": tools}


@router.post("/personalities")
async def save_persona(body: JSONObject, personas: PersonasDep) -> JSON:
    """Create or replace the persona called ``name``. ``tools: null`` means every tool, a list only
    those; a bad field is a 400 naming it, and nothing is written."""
    return {"ok": True, "personality": await personas.save(body)}


@router.post("/personalities/delete")
async def delete_persona(body: JSONObject, personas: PersonasDep) -> JSON:
    """``{name}``; 404 for an unknown one. Sessions that chose it go on without it."""
    await personas.delete(body.get("name"))
    return {"ok": True}


@router.post("/personality/set")
async def set_persona(body: JSONObject, personas: PersonasDep, services: ServicesDep) -> JSON:
    """``{session_id, name}`` (an empty name clears it) -> ``{ok, personality, prompt, session}``; 404
    for an unknown persona or session. A persona that names a model makes it the session's model."""
    session_id, name = body.get("session_id"), body.get("name")
    if not isinstance(session_id, str) or not session_id:
        raise BadRequest("session_id is required")
    if name is None or name == "":
        name = ""
    else:
        name = check_name(name)
    model, extra = await session_changes(personas, persona=name)
    session = await services.sessions.update(session_id, model=model, extra=extra)
    chosen: dict[str, Any] | None = await personas.get(name) if name else None
    return {"ok": True, "personality": chosen["name"] if chosen else None,
            "prompt": chosen["prompt"] if chosen else "", "session": session}


@router.get("/session/prompt")
async def session_prompt(
    services: ServicesDep, session_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> JSON:
    """The effective prompt of a session: ``system`` (the exact text sent as the system prompt),
    ``sections`` (``[{name, text}]`` in the documented order), ``persona``, ``model``, ``parameters``
    (``temperature``, ``max_tokens``, ``reasoning_effort``), ``request`` (the fields the provider is
    sent for them, what the model does not take left out) and ``tools`` (null for an ACP agent).
    Drafts too."""
    return await effective_prompt(
        session_id, sessions=services.sessions, instructions=services.runs.executor.instructions,
        runtimes=services.runtimes, providers=services.providers,
    )
