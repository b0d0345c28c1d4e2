"""Model providers and the model catalog (keys are stored, never returned unmasked)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from threadline.agent.events import ProviderError
from threadline.agent.providers.known import display_name
from threadline.agent.providers.registry import ProviderRegistry, build_provider
from threadline.errors import BadRequest, NotFound
from threadline.web.deps import JSON, PreferencesDep, ProvidersDep
from threadline.web.provider_changes import ProviderIn, ProviderRef, check_key, provider_config, provider_name
from threadline.web.schemas import Body

router = APIRouter(prefix="/api", tags=["providers"])

TEST_TIMEOUT = 10.0


class ModelChoice(Body):
    model: str = Field(min_length=1, max_length=300)
    provider: str | None = Field(default=None, max_length=64)  # Hermes WebUI: the model's provider, or "auto"


def _view(providers: ProviderRegistry) -> list[dict[str, Any]]:
    """``public_view`` plus Hermes WebUI's keys: ``display_name``, ``configurable``, ``key_source``,
    ``models`` as ``{id, label}`` objects (the fixed list; empty when the provider is asked) and
    ``models_total``."""
    view = []
    for item in providers.public_view():
        fixed = item["models"]
        item["display_name"] = display_name(item["id"])
        item["configurable"] = True
        item["key_source"] = ("env_var" if item["source"] == "env" else "settings") if item["has_key"] else "none"
        item["models"] = [{"id": m, "label": m} for m in fixed or []]
        item["models_total"] = len(item["models"])
        item["models_fixed"] = fixed is not None
        view.append(item)
    return view


@router.get("/models")
async def models(
    providers: ProvidersDep, preferences: PreferencesDep, refresh: Annotated[bool, Query()] = False
) -> JSON:
    """Each provider's models, from its own model list (kept a couple of minutes; ``refresh=1`` asks
    again); ``default_model`` from Settings or the first. ``providers`` lists model names; ``groups``
    is Hermes WebUI's shape, models as ``{id (the reference to send back), label, model}``."""
    catalog = await providers.model_catalog(fresh=refresh)
    listed: list[dict[str, Any]] = [
        {"id": g.provider_id, "provider": g.provider_id, "kind": g.kind, "models": g.models,
         "default_model": g.default_model, "error": g.error}
        for g in catalog
    ]
    groups = [
        {"provider": display_name(g.provider_id), "provider_id": g.provider_id, "id": g.provider_id,
         "kind": g.kind, "default_model": g.default_model, "error": g.error,
         "models": [{"id": f"{g.provider_id}/{m}", "label": m, "model": m} for m in g.models]}
        for g in catalog
    ]
    default = await preferences.get("default_model") or providers.default_model_ref()
    if not default:
        default = next((f"{g['id']}/{g['models'][0]}" for g in listed if g["models"]), None)
    return {"providers": listed, "groups": groups, "default_model": default,
            "active_provider": providers.default_provider_id}


@router.get("/models/live")
async def live_models(providers: ProvidersDep, provider: Annotated[str, Query(max_length=64)] = "") -> JSON:
    """Hermes WebUI's live list of one provider's models (default: the first provider), asked now:
    ``{provider, models: [{id, label}], count}``, with ``error`` when the provider could not list them.
    404 for a provider that is not configured."""
    name = provider.strip() or providers.default_provider_id
    if not name:
        return {"error": "no_provider", "models": []}
    if name not in {c.id for c in providers.configs()}:
        raise NotFound(f"provider not found: {name}")
    config = providers.config(name)
    if config.models is not None:
        found, error = list(config.models), None
    else:
        await providers.load_sdks(config.kind)
        try:
            found, error = await asyncio.wait_for(providers.get(name).list_models(), TEST_TIMEOUT), None
        except ProviderError as exc:
            found, error = [], exc.message
        except TimeoutError:
            found, error = [], "the provider did not answer in time"
    models = [{"id": f"{name}/{m}", "label": m} for m in found[:500]]
    return {"provider": name, "models": models, "count": len(models), **({"error": error} if error else {})}


@router.get("/providers")
async def list_providers(providers: ProvidersDep) -> JSON:
    return {"providers": _view(providers), "active_provider": providers.default_provider_id}


@router.post("/providers")
async def save_provider(body: ProviderIn, providers: ProvidersDep) -> JSON:
    """Adds or changes the provider the body names (400 and nothing changed otherwise)."""
    config = provider_config(body, providers)
    created = config.id not in {c.id for c in providers.configs()}
    providers.upsert(config)
    return {"ok": True, "provider": config.id, "display_name": display_name(config.id), "action": "updated",
            "created": created, "providers": _view(providers)}


@router.post("/providers/delete")
async def delete_provider(body: ProviderRef, providers: ProvidersDep) -> JSON:
    name = provider_name(body)
    assert name is not None
    try:
        providers.delete(name)
    except KeyError:
        raise NotFound(f"provider not found: {name}") from None
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return {"ok": True, "provider": name, "display_name": display_name(name), "action": "removed",
            "providers": _view(providers)}


@router.post("/providers/test")
async def test_provider(body: ProviderIn, providers: ProvidersDep) -> JSON:
    """Try a configuration without saving it: list the models it serves. A provider named here that
    exists is tried with the fields the body leaves out taken from it (its stored key too)."""
    config = provider_config(body, providers, named=False)
    if config.api_key is None and config.id in {c.id for c in providers.configs()}:
        config = replace(config, api_key=providers.config(config.id).api_key)
        check_key(config)
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
async def default_model(body: ModelChoice, preferences: PreferencesDep, providers: ProvidersDep) -> JSON:
    """``{model, provider?}``: ``provider`` (Hermes WebUI's; ``auto`` or empty for none) must be a
    configured provider, and the model is stored as ``<provider>/<model>``. Answers ``model`` and
    ``provider`` as Hermes WebUI does, and ``default_model``."""
    model, provider = body.model.strip(), (body.provider or "").strip()
    if not model:
        raise BadRequest("model: must not be blank")
    if provider and provider != "auto":
        if provider not in {c.id for c in providers.configs()}:
            raise BadRequest(f"provider: no provider named {provider!r}")
        if not model.startswith(f"{provider}/"):
            model = f"{provider}/{model}"
    await preferences.update({"default_model": model})
    prefix = model.partition("/")[0]
    chosen = prefix if "/" in model and prefix in {c.id for c in providers.configs()} else None
    return {"ok": True, "default_model": model, "model": model, "provider": chosen}
