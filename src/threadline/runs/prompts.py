"""A session's persona as its runs' ``RunProfile``, and a session's effective prompt: the system text,
model, parameters and tools its next run would be sent (``GET /api/session/prompt``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from threadline.agent.builtin import BuiltinRuntime, only
from threadline.agent.events import ProviderError
from threadline.agent.params import ModelParams, request_fields
from threadline.agent.providers.registry import ProviderRegistry
from threadline.agent.runtime import RuntimeRegistry
from threadline.errors import BadRequest
from threadline.runs.instructions import Instructions, Profile, RunProfile, RunTarget, join
from threadline.sessions.instructions import session_persona
from threadline.sessions.personas import PersonaStore
from threadline.sessions.service import SessionService
from threadline.sessions.views import INSTRUCTIONS, PERSONA


def persona_profile(personas: PersonaStore) -> Profile:
    """The ``Instructions`` hook that reads a run's persona."""

    async def profile(target: RunTarget) -> RunProfile:
        persona = await session_persona(personas, target)
        if persona is None:
            return RunProfile()
        tools = persona["tools"]
        return RunProfile(persona["name"], ModelParams.from_mapping(persona),
                          None if tools is None else frozenset(tools))

    return profile


async def effective_prompt(
    session_id: str, *, sessions: SessionService, instructions: Instructions, runtimes: RuntimeRegistry,
    providers: ProviderRegistry,
) -> dict[str, Any]:
    """What the session's next chat run would be given, section by section, before its history."""
    session = await sessions.get(session_id, messages=False)
    extra = dict(session.get("extra") or {})
    extra.update({INSTRUCTIONS: session["instructions"], PERSONA: session["persona"]})
    target = RunTarget(session["session_id"], session["kind"], session["workspace"], session["project_id"], extra)
    parts = await instructions.parts(target)
    profile = await instructions.profile(target)
    runtime = runtimes.get(session["runtime"] if session["runtime"] != "builtin" else None)
    model, model_error = None, None
    try:
        model = await runtime.check(session["model"])
    except BadRequest as exc:
        model_error = exc.message
    tools: list[str] | None = None
    request: dict[str, Any] | None = None
    if isinstance(runtime, BuiltinRuntime):
        tools = only(await runtime.default_tools(clarify=session["kind"] == "chat"), profile.tools).names()
        if model:
            try:
                config, name = providers.resolve_config(model)
                request = request_fields(config.kind, name, profile.params)
            except ProviderError:
                pass
    note = None
    if runtime.kind == "acp":  # an ACP agent brings its own instructions (docs/agents.md)
        parts, note = [], f"The agent {runtime.name!r} uses its own instructions; Threadline's are not sent to it."
    return {
        "session_id": session["session_id"],
        "note": note,
        "system": join(parts),
        "sections": [{"name": name, "text": text} for name, text in parts],
        "persona": profile.persona,
        "persona_missing": bool(session["persona"]) and profile.persona is None,
        "model": model,
        "model_error": model_error,
        "runtime": runtime.name,
        "parameters": profile.params.public(),
        "request": request,  # the fields the provider is sent for them (null: not the built-in agent)
        "tools": tools,  # null for a runtime whose tools are its own (ACP agents)
        "workspace": str(Path(session["workspace"])),
    }
