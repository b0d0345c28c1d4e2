"""Start-up checks on how the server is exposed."""

from __future__ import annotations

import ipaddress

from threadline.settings import Settings


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse_unsafe_bind(settings: Settings) -> str | None:
    """A message explaining the refusal, or None when the bind is safe."""
    if is_loopback(settings.host) or settings.password or settings.insecure:
        return None
    return (
        f"Refusing to listen on {settings.host}: anyone who can reach it could run shell commands on this machine.\n"
        "Set a password (THREADLINE_PASSWORD=...) or pass --insecure if a proxy in front of Threadline "
        "authenticates every request."
    )
