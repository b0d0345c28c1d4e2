"""Password authentication: login cookies signed with ``itsdangerous``, logout, the login rate limit,
CSRF tokens.

Auth is on when ``THREADLINE_PASSWORD`` is set (it wins) or a password was saved in Settings (its
scrypt hash is stored with ``preferences.set_secret``).

The cookie is ``<token id>.<expires>.<signature>``, signed by an ``itsdangerous.Signer`` (HMAC-SHA256)
under a key derived from the signing key (random, stored once), the current password (its stored hash,
or an HMAC of the environment password) and an epoch. So a cookie stops working when it expires, when
the password changes or is cleared, and when its token id is revoked by logout. The revoked list is
stored (it survives restarts), pruned of expired ids and bounded: past ``MAX_REVOKED`` the epoch is
bumped instead, which ends every login. Other instances sharing the database pick changes up within
``REFRESH_SECONDS``. The expiry is in the cookie, not derived from the signing time, so instances
whose clocks differ by a second still accept each other's cookies.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from itsdangerous import BadSignature, Signer

from threadline.errors import BadRequest, Forbidden, Unauthorized
from threadline.preferences import PreferenceService
from threadline.settings import Settings
from threadline.web.login_limit import LoginLimiter
from threadline.web.passwords import PasswordHasher

COOKIE = "threadline_session"
SIGNING_KEY = "auth_signing_key"
PASSWORD_HASH = "auth_password_hash"
EPOCH = "auth_epoch"
REVOKED = "auth_revoked"

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
MAX_REVOKED = 5000
MAX_COOKIE = 200
REFRESH_SECONDS = 5.0


def _hmac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


class Auth:
    def __init__(self, preferences: PreferenceService, settings: Settings,
                 clock: Callable[[], float] = time.time) -> None:
        self.preferences = preferences
        self.settings = settings
        self.clock = clock
        self.limiter = LoginLimiter(settings)
        self.hasher = PasswordHasher()
        self._signing_key = b""
        self._stored_hash: str | None = None
        self._env_hash: str | None = None
        self._epoch = 0
        self._revoked: dict[str, int] = {}
        self._cookie_key = b""
        self._signer = Signer(b"unset")
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    # -- state -----------------------------------------------------------------------------------

    async def load(self) -> None:
        key = await self.preferences.get_secret(SIGNING_KEY)
        if not isinstance(key, str) or len(key) < 32:
            await self.preferences.set_secret(SIGNING_KEY, secrets.token_hex(32))
            key = await self.preferences.get_secret(SIGNING_KEY)  # another instance may have won
        self._signing_key = bytes.fromhex(key)
        if self.settings.password and self._env_hash is None:
            self._env_hash = await self.hasher.hash(self.settings.password)
        await self._reload()

    async def close(self) -> None:
        self.hasher.close()
        await self.limiter.close()

    async def _reload(self) -> None:
        stored = await self.preferences.get_secret(PASSWORD_HASH)
        self._stored_hash = stored if isinstance(stored, str) and stored else None
        epoch = await self.preferences.get_secret(EPOCH)
        self._epoch = epoch if isinstance(epoch, int) else 0
        revoked = await self.preferences.get_secret(REVOKED)
        self._revoked = {k: v for k, v in revoked.items() if isinstance(v, int)} if isinstance(revoked, dict) else {}
        self._cookie_key = bytes.fromhex(_hmac(self._signing_key, f"cookie\0{self._identity()}\0{self._epoch}"))
        self._signer = Signer(self._cookie_key, salt="threadline.login", digest_method=hashlib.sha256)
        self._loaded_at = time.monotonic()

    async def refresh(self) -> None:
        """Pick up changes made by another instance, at most every ``REFRESH_SECONDS``."""
        if time.monotonic() - self._loaded_at < REFRESH_SECONDS:
            return
        async with self._lock:
            if time.monotonic() - self._loaded_at >= REFRESH_SECONDS:
                await self._reload()

    def _identity(self) -> str:
        if self.settings.password:
            return "env:" + _hmac(self._signing_key, "env-password\0" + self.settings.password)
        return "stored:" + (self._stored_hash or "")

    @property
    def enabled(self) -> bool:
        return bool(self.settings.password or self._stored_hash)

    @property
    def password_source(self) -> str | None:
        if self.settings.password:
            return "env"
        return "settings" if self._stored_hash else None

    # -- cookies and CSRF tokens -----------------------------------------------------------------

    def issue(self) -> str:
        expires = int(self.clock()) + self.settings.auth_cookie_ttl_seconds
        return self._signer.sign(f"{secrets.token_hex(16)}.{expires}").decode()

    def _payload(self, cookie: str | None) -> tuple[str, int] | None:
        """(token id, expires) of a cookie signed with the current key, expired or not."""
        if not cookie or len(cookie) > MAX_COOKIE or not self.enabled:
            return None
        try:
            token_id, _, expires = self._signer.unsign(cookie).decode().partition(".")
        except (BadSignature, UnicodeDecodeError):
            return None
        if not token_id or not expires.isdigit():
            return None
        return token_id, int(expires)

    def verify(self, cookie: str | None) -> str | None:
        """The token id of a valid cookie, else None."""
        payload = self._payload(cookie)
        if payload is None or payload[1] <= self.clock() or payload[0] in self._revoked:
            return None
        return payload[0]

    def csrf_token(self, token_id: str | None) -> str:
        """Bound to the login when there is one, else one value per installation."""
        if token_id:
            return _hmac(self._cookie_key, f"csrf\0{token_id}")[:40]
        return _hmac(self._signing_key, "csrf\0anonymous")[:40]

    # -- login, logout, password -----------------------------------------------------------------

    async def login(self, password: str, client: str) -> str:
        """A new cookie value; ``Unauthorized`` for a wrong password, ``TooManyRequests`` past the limit.
        The attempt is counted before the password is checked."""
        stored = self._env_hash or self._stored_hash
        if not self.enabled or stored is None:
            raise BadRequest("no password is set")
        await self.limiter.attempt(client)
        if not await self.hasher.verify(password, stored):
            raise Unauthorized("wrong password")
        await self.limiter.reset(client)
        return self.issue()

    async def logout(self, cookie: str | None) -> None:
        payload, token_id = self._payload(cookie), self.verify(cookie)
        if payload is None or token_id is None:
            return
        async with self._lock:
            await self._reload()
            now = int(self.clock())
            revoked = {k: v for k, v in self._revoked.items() if v > now}
            revoked[token_id] = payload[1]
            if len(revoked) > MAX_REVOKED:
                await self.preferences.set_secret(EPOCH, self._epoch + 1)
                revoked = {}
            await self.preferences.set_secret(REVOKED, revoked)
            await self._reload()

    async def check_current_password(self, password: object, client: str) -> None:
        """``Forbidden`` unless ``password`` is the password in force (Hermes WebUI's
        ``_current_password``, sent when changing or clearing it); counted like a login attempt."""
        stored = self._env_hash or self._stored_hash
        if stored is None:
            return
        await self.limiter.attempt(client)
        if not isinstance(password, str) or not await self.hasher.verify(password, stored):
            raise Forbidden("the current password is incorrect")

    async def set_password(self, password: object) -> None:
        if self.settings.password:
            raise BadRequest("the password is set by THREADLINE_PASSWORD; change it there")
        if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise BadRequest(f"the password must be a string of {MIN_PASSWORD} to {MAX_PASSWORD} characters")
        hashed = await self.hasher.hash(password)
        async with self._lock:
            await self.preferences.set_secret(PASSWORD_HASH, hashed)
            await self.preferences.set_secret(REVOKED, None)
            await self._reload()

    async def clear_password(self) -> None:
        if self.settings.password:
            raise BadRequest("the password is set by THREADLINE_PASSWORD; unset it there")
        async with self._lock:
            await self.preferences.set_secret(PASSWORD_HASH, None)
            await self.preferences.set_secret(REVOKED, None)
            await self._reload()
