"""Origins and ``Host`` headers reduced to comparable (host, port) keys."""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_key(value: str) -> tuple[str, int] | None:
    """``scheme://host[:port]`` (or a full URL) to (host, port), the port defaulted by scheme."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def host_key(host: str) -> tuple[str, int | None] | None:
    """A ``Host`` header to (host, port); the port is None when the header names none."""
    try:
        parts = urlsplit("//" + host.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port


def allowed_origins(origins: list[str]) -> set[tuple[str, int]]:
    return {key for origin in origins if (key := origin_key(origin))}
