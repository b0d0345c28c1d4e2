"""scrypt password hashes, computed in a small thread pool of their own: a flood of logins cannot
take the threads that workspace tools and everything else use, and they cannot take these."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MB of memory per hash
HASH_WORKERS = 2


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


class PasswordHasher:
    """``hash`` and ``verify`` off the event loop, at most ``workers`` at a time."""

    def __init__(self, workers: int = HASH_WORKERS) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="threadline-scrypt")

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self.pool, hash_password, password)

    async def verify(self, password: str, stored: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self.pool, verify_password, password, stored)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
