"""Throwaway PostgreSQL databases for tests.

With ``THREADLINE_TEST_DATABASE_URL=postgresql+asyncpg://...`` every test gets its own database, cloned
from a template migrated once per pytest process (``CREATE DATABASE ... TEMPLATE``, about 20 ms) and
dropped after the test. The cluster tests use the same helper to get a database of their own.

Names carry the pytest process id (``tl_<pid>_...``) so that databases left by a killed run are dropped
by the next one without touching those of a run still going.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
PREFIX = "tl_"

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh loop in another thread (safe inside pytest-asyncio)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def is_postgres(url: str | None) -> bool:
    return bool(url) and make_url(url).get_backend_name() == "postgresql"  # type: ignore[arg-type]


def _dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _ping(url: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(_dsn(url)), timeout=3)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def unreachable(url: str) -> str | None:
    """``None`` when PostgreSQL answers at ``url``, else why not."""
    return run_sync(_ping(url))


class PgDatabases:
    """Creates and drops databases next to the one ``admin_url`` names."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.tag = f"{PREFIX}{os.getpid()}_"
        self.template: str | None = None

    def url_for(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    async def _execute(self, *statements: str) -> list[Any]:
        import asyncpg

        conn = await asyncpg.connect(_dsn(self.admin_url))
        try:
            results = []
            for statement in statements:
                results.append(await conn.fetch(statement))
            return results
        finally:
            await conn.close()

    def drop_stale(self) -> None:
        """Drop databases left by pytest processes that no longer exist."""
        (rows,) = run_sync(self._execute(f"SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"))
        stale = []
        for (name,) in rows:
            pid = name[len(PREFIX):].split("_", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                stale.append(name)
        for name in stale:
            run_sync(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def create(self, *, migrated: bool = True) -> str:
        """A new database (migrated to head when ``migrated``); returns its name."""
        name = f"{self.tag}{uuid.uuid4().hex[:10]}"
        if migrated:
            template = self._ensure_template()
            run_sync(self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        else:
            run_sync(self._execute(f'CREATE DATABASE "{name}"'))
        return name

    def drop(self, name: str) -> None:
        run_sync(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def _ensure_template(self) -> str:
        if self.template is None:
            from threadline.store.engine import Store

            name = f"{self.tag}template"
            run_sync(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'))

            async def migrate() -> None:
                store = Store(self.url_for(name))
                try:
                    await store.migrate()
                finally:
                    await store.close()

            run_sync(migrate())
            self.template = name
        return self.template

    def close(self) -> None:
        if self.template is not None:
            self.drop(self.template)
            self.template = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if __name__ == "__main__":  # `python -m tests.pg [URL]`: exit 0 when PostgreSQL answers (.ci/run asks)
    import sys

    target = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PG_URL
    reason = unreachable(target)
    if reason:
        print(f"PostgreSQL unreachable at {target}: {reason}", file=sys.stderr)
    sys.exit(1 if reason else 0)
