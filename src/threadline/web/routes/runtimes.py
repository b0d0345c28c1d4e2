"""Runtimes: the built-in agent loop and the ACP agents configured here (``runtimes.json``).

Only an authenticated user can add an agent, and an agent runs with the server's privileges: that is
what a command in this configuration is. Environment values are returned masked.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import Field

from threadline.agent.acp import AgentConfig
from threadline.errors import BadRequest
from threadline.web.deps import JSON, ServicesDep
from threadline.web.schemas import Body

router = APIRouter(prefix="/api", tags=["runtimes"])


class RuntimeIn(Body):
    name: str = Field(min_length=1, max_length=64)
    command: str = Field(min_length=1, max_length=4096)
    args: list[str] | None = Field(default=None, max_length=100)
    env: dict[str, str] | None = Field(default=None, max_length=100)  # omitted: keep the stored one


class RuntimeRef(Body):
    name: str = Field(min_length=1, max_length=64)


@router.get("/runtimes")
async def list_runtimes(services: ServicesDep) -> JSON:
    return {"runtimes": await services.agents.listing()}


@router.post("/runtimes")
async def save_runtime(body: RuntimeIn, services: ServicesDep) -> JSON:
    """Add or replace an ACP agent; its running processes stop (each when its turn ends)."""
    try:
        config = AgentConfig(body.name, body.command, tuple(body.args or ()), dict(body.env or {}))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    saved = await services.agents.save(config, keep_env=body.env is None)
    return {"ok": True, "runtime": saved.public(), "runtimes": await services.agents.listing()}


@router.post("/runtimes/delete")
async def delete_runtime(body: RuntimeRef, services: ServicesDep) -> JSON:
    await services.agents.delete(body.name)
    return {"ok": True, "runtimes": await services.agents.listing()}


@router.post("/runtimes/test")
async def test_runtime(body: RuntimeRef, services: ServicesDep) -> JSON:
    """Start the agent in the default workspace, run ``initialize``, stop it."""
    cwd = services.settings.resolved_default_workspace
    await asyncio.to_thread(cwd.mkdir, parents=True, exist_ok=True)
    return await services.agents.test(body.name, cwd)
