"""First run (reference §2.7 onboarding): ``GET /api/onboarding/status``, ``POST /api/onboarding/setup``
(connect a model provider) and ``POST /api/onboarding/complete``; they back the first-run dialog.

``setup`` writes a provider and its key, so without a password it answers only a caller on this
machine or a private network (loopback, 10/8, 172.16/12, 192.168/16, link-local, fc00::/7), else 403,
unless the setting ``onboarding_open`` is on. The address is the connection's, or behind a trusted
proxy (uvicorn's ``--forwarded-allow-ips``, by default only 127.0.0.1) the one it forwards; a client's
own ``X-Forwarded-For`` counts for nothing. With a password set, every caller is signed in already.
"""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Request
from pydantic import Field

from threadline.errors import Forbidden
from threadline.settings import Settings
from threadline.web.auth import Auth
from threadline.web.deps import JSON, PreferencesDep, ProvidersDep, SettingsDep
from threadline.web.login import AuthDep
from threadline.web.provider_changes import ProviderIn, provider_config

router = APIRouter(prefix="/api/onboarding", tags=["onboarding"])


# Spelled out: ``ipaddress``'s ``is_private`` also counts the documentation ranges (203.0.113.0/24...).
LOCAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "::1/128", "fc00::/7", "fe80::/10",
))


class OnboardingSetup(ProviderIn):
    """``POST /api/providers``'s body, checked by the same rules, plus ``model``."""

    model: str | None = Field(default=None, min_length=1, max_length=300)  # made the default model


def is_local_address(host: str | None) -> bool:
    """Loopback or a private network; ``None`` (a Unix socket) counts as local."""
    if host is None:
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in LOCAL_NETWORKS)


def setup_allowed(request: Request, auth: Auth, settings: Settings) -> bool:
    if settings.onboarding_open or auth.enabled:
        return True
    return is_local_address(request.client.host if request.client else None)


@router.get("/status")
async def status(
    request: Request, providers: ProvidersDep, preferences: PreferencesDep, auth: AuthDep, settings: SettingsDep,
) -> JSON:
    """``completed`` (the dialog was finished or dismissed), ``needs_setup`` (no provider yet),
    ``setup_allowed`` (whether this caller may ``setup``), the providers (keys masked)."""
    configured = providers.public_view()
    return {
        "completed": bool(await preferences.get("onboarding_done")),
        "needs_setup": not configured,
        "setup_allowed": setup_allowed(request, auth, settings),
        "auth_enabled": auth.enabled,
        "providers": configured,
        "default_model": await preferences.get("default_model"),
    }


@router.post("/setup")
async def setup(
    body: OnboardingSetup, request: Request, providers: ProvidersDep, preferences: PreferencesDep, auth: AuthDep,
    settings: SettingsDep,
) -> JSON:
    """Save a provider (the body of ``POST /api/providers``) and, with ``model``, make it the default."""
    if not setup_allowed(request, auth, settings):
        raise Forbidden("onboarding setup is allowed only from this machine or a private network; sign in "
                        "or set THREADLINE_ONBOARDING_OPEN")
    config = provider_config(body, providers)
    if body.model is not None:  # a model of this provider: "<provider id>/<model>"
        ref = body.model if body.model.startswith(f"{config.id}/") else f"{config.id}/{body.model}"
        await preferences.update({"default_model": ref})
    providers.upsert(config)
    return {"ok": True, "provider": config.id, "providers": providers.public_view(),
            "default_model": await preferences.get("default_model")}


@router.post("/complete")
async def complete(preferences: PreferencesDep) -> JSON:
    """The first-run dialog is done (or dismissed): it is not offered again, on any browser."""
    await preferences.update({"onboarding_done": True})
    return {"ok": True, "completed": True}
