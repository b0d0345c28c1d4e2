"""A provider change as a request states it (``POST /api/providers``, ``/api/providers/test``,
``/api/onboarding/setup``): its body, the provider it names, and the configuration it makes, checked
whole. Shared by the routes that change providers (a router imports no other router)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from pydantic import Field

from threadline.agent.providers.known import KNOWN_PROVIDERS
from threadline.agent.providers.registry import ProviderConfig, ProviderRegistry
from threadline.errors import BadRequest
from threadline.web.schemas import Body

PROVIDER_ID = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class ProviderIn(Body):
    id: str | None = PROVIDER_ID
    provider: str | None = PROVIDER_ID  # Hermes WebUI's name for the id
    kind: Literal["openai", "anthropic"] | None = None
    base_url: str | None = Field(default=None, max_length=2000)
    api_key: str | None = Field(default=None, max_length=4000)
    models: list[Annotated[str, Field(min_length=1, max_length=300)]] | None = Field(default=None, max_length=500)
    default_model: str | None = Field(default=None, max_length=300)


class ProviderRef(Body):
    id: str | None = PROVIDER_ID
    provider: str | None = PROVIDER_ID


def provider_name(body: ProviderIn | ProviderRef, *, required: bool = True) -> str | None:
    """The provider a body names: ``id`` or ``provider`` (the same one if both are sent)."""
    if body.id and body.provider and body.id != body.provider:
        raise BadRequest("id and provider name two different providers: send one of them")
    name = body.id or body.provider
    if name is None and required:
        raise BadRequest("provider: name the provider to change (its id, or provider as Hermes WebUI sends it)")
    return name


def provider_config(body: ProviderIn, providers: ProviderRegistry, *, named: bool = True) -> ProviderConfig:
    """The provider as it would be stored, checked whole. An existing provider keeps every field the
    body leaves out (``{provider, api_key}`` changes only the key); ``null`` or ``""`` clears a field.
    A new one needs its kind, unless its name is a provider known by name (``known.py``)."""
    name = provider_name(body, required=named) or "test"
    sent = body.model_fields_set - {"id", "provider"}
    existing = next((c for c in providers.configs() if c.id == name), None)
    if existing is None:
        known = KNOWN_PROVIDERS.get(name)
        kind = body.kind or (known.kind if known else None)
        if kind is None:
            raise BadRequest(f"kind: a new provider {name!r} needs its kind (openai or anthropic)")
        config = ProviderConfig(name, kind, body.base_url or (known.base_url if known and known.kind == kind else None))
    else:
        if named and not sent:
            raise BadRequest(f"nothing to change for provider {name!r}: send api_key, base_url, kind, models "
                             "or default_model")
        if body.kind and body.kind != existing.kind and "base_url" not in sent:
            raise BadRequest("base_url: send it with a new kind (empty for the kind's own default)")
        config = replace(existing, api_key=None)  # None keeps the stored key (``ProviderRegistry.upsert``)
    changes = {k: getattr(body, k) for k in ("kind", "base_url", "api_key", "models", "default_model") if k in sent}
    changes["kind"] = changes.get("kind") or config.kind
    if "base_url" in changes and existing is None:
        changes["base_url"] = changes["base_url"] or config.base_url
    for key in ("base_url", "default_model"):
        if key in changes:
            changes[key] = changes[key] or None
    try:
        config = replace(config, **changes, source="file")
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if config.base_url and not config.base_url.startswith(("http://", "https://")):
        raise BadRequest("base_url must start with http:// or https://")
    check_key(config)
    return config


def check_key(config: ProviderConfig) -> None:
    if config.key_problem:
        raise BadRequest(f"api_key: {config.key_problem}")
