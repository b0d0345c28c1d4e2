"""Model providers and the model catalog (keys are stored, never returned unmasked)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from threadline.agent.events import ProviderError
from threadline.agent.providers.registry import ProviderConfig, build_provider
from threadline.errors import BadRequest, NotFound
from threadline.web.deps import JSON, PreferencesDep, ProvidersDep
from threadline.web.schemas import Body

router = APIRouter(prefix="/api", tags=["providers"])

TEST_TIMEOUT = 10.0


class ProviderIn(Body):
    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    provider: str | None = Field(default=None, max_length=64)  # the reference's name for the kind
    kind: Literal["openai", "anthropic"] | None = None
    base_url: str | None = Field(default=None, max_length=2000)
    api_key: str | None = Field(default=None, max_length=4000)
    models: list[str] | None = Field(default=None, max_length=500)
    default_model: str | None = Field(default=None, max_length=300)


class ProviderRef(Body):
    id: str = Field(min_length=1, max_length=64)


class ModelChoice(Body):
    model: str = Field(min_length=1, max_length=300)


def _config(body: ProviderIn) -> ProviderConfig:
    kind = body.kind or ("anthropic" if body.provider == "anthropic" else "openai")
    provider_id = body.id or body.provider or kind
    if body.base_url and not body.base_url.startswith(("http://", "https://")):
        raise BadRequest("base_url must start with http:// or https://")
    try:
        config = ProviderConfig(provider_id, kind, body.base_url or None, body.api_key, body.models,
                                body.default_model)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    _check_key(config)
    return config


def _check_key(config: ProviderConfig) -> None:
    if config.key_problem:
        raise BadRequest(f"api_key: {config.key_problem}")


@router.get("/models")
async def models(
    providers: ProvidersDep, preferences: PreferencesDep, refresh: Annotated[bool, Query()] = False
) -> JSON:
    """Each provider's models, from its own model list (kept a couple of minutes; ``refresh=1`` asks
    again); ``default_model`` from Settings or the first."""
    catalog = await providers.model_catalog(fresh=refresh)
    groups: list[dict[str, Any]] = [
        {"id": g.provider_id, "provider": g.provider_id, "kind": g.kind, "models": g.models,
         "default_model": g.default_model, "error": g.error}
        for g in catalog
    ]
    default = await preferences.get("default_model") or providers.default_model_ref()
    if not default:
        default = next((f"{g['id']}/{g['models'][0]}" for g in groups if g["models"]), None)
    return {"providers": groups, "groups": groups, "default_model": default,
            "active_provider": providers.default_provider_id}


@router.get("/providers")
async def list_providers(providers: ProvidersDep) -> JSON:
    return {"providers": providers.public_view()}


@router.post("/providers")
async def save_provider(body: ProviderIn, providers: ProvidersDep) -> JSON:
    providers.upsert(_config(body))
    return {"ok": True, "providers": providers.public_view()}


@router.post("/providers/delete")
async def delete_provider(body: ProviderRef, providers: ProvidersDep) -> JSON:
    try:
        providers.delete(body.id)
    except KeyError:
        raise NotFound(f"provider not found: {body.id}") from None
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return {"ok": True, "providers": providers.public_view()}


@router.post("/providers/test")
async def test_provider(body: ProviderIn, providers: ProvidersDep) -> JSON:
    """Try a configuration without saving it: list the models it serves."""
    config = _config(body)
    if config.api_key is None and config.id in {c.id for c in providers.configs()}:
        config = ProviderConfig(config.id, config.kind, config.base_url, providers.config(config.id).api_key)
        _check_key(config)
    await providers.load_sdks(config.kind)
    provider = await asyncio.to_thread(build_provider, config, timeout=TEST_TIMEOUT)  # its TLS set-up: off the loop
    try:
        found = await asyncio.wait_for(provider.list_models(), TEST_TIMEOUT)
    except ProviderError as exc:
        return {"ok": False, "error": exc.message, "type": exc.kind, "hint": exc.hint}
    except TimeoutError:
        return {"ok": False, "error": "the provider did not answer in time", "type": "connection"}
    finally:
        await provider.aclose()
    return {"ok": True, "models": found[:500]}


@router.post("/default-model")
async def default_model(body: ModelChoice, preferences: PreferencesDep) -> JSON:
    await preferences.update({"default_model": body.model})
    return {"ok": True, "default_model": body.model}
