"""Password authentication: scrypt hashes, signed cookies, logout, login rate limiting, CSRF tokens.

Auth is on when ``THREADLINE_PASSWORD`` is set (it wins) or a password was saved in Settings (its
scrypt hash is stored with ``preferences.set_secret``).

The cookie is ``<token id>.<expires>.<signature>``, the signature an HMAC-SHA256 under a cookie key
derived from the signing key (random, stored once), the current password (its stored hash, or an
HMAC of the environment password) and an epoch. So a cookie stops working when it expires, when
the password changes or is cleared, and when its token id is revoked by logout. The revoked list
is stored (it survives restarts), pruned of expired ids and bounded: past ``MAX_REVOKED`` the epoch
is bumped instead, which ends every login. Other instances sharing the database pick changes up
within ``REFRESH_SECONDS``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from threadline.errors import BadRequest, TooManyRequests, Unauthorized
from threadline.preferences import PreferenceService
from threadline.settings import Settings

COOKIE = "threadline_session"
SIGNING_KEY = "auth_signing_key"
PASSWORD_HASH = "auth_password_hash"
EPOCH = "auth_epoch"
REVOKED = "auth_revoked"

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
MAX_REVOKED = 5000
REFRESH_SECONDS = 5.0
RATE_WINDOW_SECONDS = 60.0
MAX_TRACKED_CLIENTS = 10_000


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _hmac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


class LoginLimiter:
    """At most ``limit`` failed logins per client per window; memory bounded by ``max_clients``."""

    def __init__(self, limit: int, window: float = RATE_WINDOW_SECONDS, max_clients: int = MAX_TRACKED_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self.clock = clock
        self.failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float]:
        stamps = self.failures.get(client)
        if stamps is None:
            return deque()
        cutoff = self.clock() - self.window
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
        if not stamps:
            del self.failures[client]
        return stamps

    def retry_after(self, client: str) -> float | None:
        """Seconds until ``client`` may try again, or None if it may now."""
        stamps = self._recent(client)
        if len(stamps) < self.limit:
            return None
        return max(1.0, stamps[0] + self.window - self.clock())

    def fail(self, client: str) -> None:
        stamps = self.failures.pop(client, None) or deque(maxlen=self.limit)
        stamps.append(self.clock())
        self.failures[client] = stamps  # most recent last
        while len(self.failures) > self.max_clients:
            self.failures.popitem(last=False)

    def succeed(self, client: str) -> None:
        self.failures.pop(client, None)


class Auth:
    def __init__(self, preferences: PreferenceService, settings: Settings,
                 clock: Callable[[], float] = time.time) -> None:
        self.preferences = preferences
        self.settings = settings
        self.clock = clock
        self.limiter = LoginLimiter(settings.login_rate_limit)
        self._signing_key = b""
        self._stored_hash: str | None = None
        self._env_hash: str | None = None
        self._epoch = 0
        self._revoked: dict[str, int] = {}
        self._cookie_key = b""
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
            self._env_hash = await asyncio.to_thread(hash_password, self.settings.password)
        await self._reload()

    async def _reload(self) -> None:
        stored = await self.preferences.get_secret(PASSWORD_HASH)
        self._stored_hash = stored if isinstance(stored, str) and stored else None
        epoch = await self.preferences.get_secret(EPOCH)
        self._epoch = epoch if isinstance(epoch, int) else 0
        revoked = await self.preferences.get_secret(REVOKED)
        self._revoked = {k: v for k, v in revoked.items() if isinstance(v, int)} if isinstance(revoked, dict) else {}
        self._cookie_key = bytes.fromhex(_hmac(self._signing_key, f"cookie\0{self._identity()}\0{self._epoch}"))
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
        token_id = secrets.token_hex(16)
        expires = int(self.clock()) + self.settings.auth_cookie_ttl_seconds
        payload = f"{token_id}.{expires}"
        return f"{payload}.{_hmac(self._cookie_key, payload)}"

    def verify(self, cookie: str | None) -> str | None:
        """The token id of a valid cookie, else None."""
        if not cookie or len(cookie) > 200 or not self.enabled:
            return None
        parts = cookie.split(".")
        if len(parts) != 3:
            return None
        token_id, expires, signature = parts
        if not hmac.compare_digest(_hmac(self._cookie_key, f"{token_id}.{expires}"), signature):
            return None
        if not expires.isdigit() or int(expires) <= self.clock() or token_id in self._revoked:
            return None
        return token_id

    def csrf_token(self, token_id: str | None) -> str:
        """Bound to the login when there is one, else one value per installation."""
        if token_id:
            return _hmac(self._cookie_key, f"csrf\0{token_id}")[:40]
        return _hmac(self._signing_key, "csrf\0anonymous")[:40]

    # -- login, logout, password -----------------------------------------------------------------

    async def login(self, password: str, client: str) -> str:
        """A new cookie value; ``Unauthorized`` for a wrong password, ``TooManyRequests`` when rate limited."""
        wait = self.limiter.retry_after(client)
        if wait is not None:
            raise TooManyRequests("too many failed logins; try again later", retry_after=round(wait))
        stored = self._env_hash or self._stored_hash
        if not self.enabled or stored is None:
            raise BadRequest("no password is set")
        if not await asyncio.to_thread(verify_password, password, stored):
            self.limiter.fail(client)
            raise Unauthorized("wrong password")
        self.limiter.succeed(client)
        return self.issue()

    async def logout(self, cookie: str | None) -> None:
        token_id = self.verify(cookie)
        if token_id is None or cookie is None:
            return
        expires = int(cookie.split(".")[1])
        async with self._lock:
            await self._reload()
            now = int(self.clock())
            revoked = {k: v for k, v in self._revoked.items() if v > now}
            revoked[token_id] = expires
            if len(revoked) > MAX_REVOKED:
                await self.preferences.set_secret(EPOCH, self._epoch + 1)
                revoked = {}
            await self.preferences.set_secret(REVOKED, revoked)
            await self._reload()

    async def set_password(self, password: object) -> None:
        if self.settings.password:
            raise BadRequest("the password is set by THREADLINE_PASSWORD; change it there")
        if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise BadRequest(f"the password must be a string of {MIN_PASSWORD} to {MAX_PASSWORD} characters")
        hashed = await asyncio.to_thread(hash_password, password)
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

    def status(self, token_id: str | None) -> dict[str, Any]:
        return {"auth_enabled": self.enabled, "logged_in": token_id is not None}
