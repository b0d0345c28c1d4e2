"""Start-up checks on how the server is exposed."""

from __future__ import annotations

import asyncio
import ipaddress

from sqlalchemy.exc import SQLAlchemyError

from threadline.settings import Settings


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def stored_password_set(settings: Settings) -> bool:
    """Whether a password was saved in Settings (its hash is in the database). Never creates the
    database: a fresh home has no password."""
    if settings.database_url is None and not settings.sqlite_path.exists():
        return False
    from threadline.preferences import PreferenceService
    from threadline.store.engine import Store
    from threadline.web.auth import PASSWORD_HASH

    async def check() -> bool:
        store = Store(settings.resolved_database_url)
        try:
            return bool(await PreferenceService(store).get_secret(PASSWORD_HASH))
        except (SQLAlchemyError, OSError):
            return False  # no schema yet, or the database is unreachable: the server reports that itself
        finally:
            await store.close()

    return asyncio.run(check())


def refuse_unsafe_bind(settings: Settings) -> str | None:
    """A message explaining the refusal, or None when the bind is safe: loopback, a password (from
    THREADLINE_PASSWORD or saved in Settings), or ``--insecure``."""
    if is_loopback(settings.host) or settings.password or settings.insecure or stored_password_set(settings):
        return None
    return (
        f"Refusing to listen on {settings.host}: anyone who can reach it could run shell commands on this machine.\n"
        "Set a password (THREADLINE_PASSWORD=..., or in Settings while listening on 127.0.0.1), or pass "
        "--insecure if a proxy in front of Threadline authenticates every request."
    )
