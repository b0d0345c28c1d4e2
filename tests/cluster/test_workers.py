"""``threadline serve --workers N``: N processes on one port, each an instance of its own on the shared
PostgreSQL + Redis; refused, with the reason, where they could not share (SQLite, no Redis)."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cluster.test_two_instances import Deployment, new_session, read_stream, start, text_of
from tests.llm_server import ScriptedLLM
from tests.pg import PgDatabases, run_sync

pytestmark = pytest.mark.slow


def serve(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "threadline", "serve", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_workers_are_refused_where_they_cannot_share(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    on_sqlite = serve(["--workers", "2", "--home", str(tmp_path), "--port", "1"], env)
    assert on_sqlite.returncode == 2
    assert "--workers needs PostgreSQL" in on_sqlite.stderr and "SQLite" in on_sqlite.stderr
    no_redis = serve(["--workers", "2", "--home", str(tmp_path), "--port", "1"],
                     {**env, "THREADLINE_DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1:1/db"})
    assert no_redis.returncode == 2 and "--workers needs Redis" in no_redis.stderr
    assert not (tmp_path / "threadline.db").exists()  # refused before anything was opened


def instances(url: str) -> list[str]:
    import asyncpg
    from sqlalchemy.engine import make_url

    async def fetch() -> list[str]:
        conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            rows = await conn.fetch("SELECT id FROM instances WHERE heartbeat_at > $1", time.time() - 10)
            return sorted(row["id"] for row in rows)
        finally:
            await conn.close()

    return run_sync(fetch())


def test_two_workers_serve_as_two_instances(pg_server: PgDatabases, redis_server: str, tmp_path: Path) -> None:
    name = pg_server.create(migrated=False)  # the workers migrate it, together
    (tmp_path / "workspace").mkdir()
    try:
        with ScriptedLLM() as llm:
            deployment = Deployment(pg_server.url_for(name), redis_server, f"tl-test-{name}", llm, tmp_path)
            server = deployment.start("w", options=("--workers", "2"))
            try:
                deadline = time.monotonic() + 30
                while len(ids := instances(deployment.database_url)) < 2 and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert len(ids) == 2 and all(i.startswith("w-") for i in ids), ids  # one id per worker

                def one(i: int) -> str:
                    with httpx.Client(base_url=server.url, timeout=60) as client:  # a connection of its own
                        sid = new_session(client)
                        stream_id = start(client, sid, f"[[tokens=30 delay=0.01 chunk=1]] stream {i}")
                    with httpx.Client(base_url=server.url, timeout=60) as client:  # maybe another worker
                        return text_of(read_stream(client, stream_id))

                with concurrent.futures.ThreadPoolExecutor(8) as pool:
                    texts = list(pool.map(one, range(8)))
                assert texts == ["".join(f"t{k} " for k in range(30))] * 8
            finally:
                server.stop()
            assert server.proc.returncode == 0 or server.proc.returncode < 0, server.log.read_text()[-2000:]
    finally:
        pg_server.drop(name)
