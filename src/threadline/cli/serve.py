"""``threadline serve``: the web server; ``--workers N`` runs N server processes on one machine.

With several workers each process is an instance of a deployment sharing PostgreSQL and Redis (issue
18 item 4), exactly as instances on several machines are: its own instance id, its own leases, runs
served to the others through Redis. uvicorn's supervisor starts them on one listening socket; each
builds its app with ``worker_app`` from the environment the parent set from its flags.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from threadline import __version__
from threadline.cli.options import add_home, settings_from
from threadline.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

WORKER_APP = "threadline.cli.serve:worker_app"


def add_parser(commands: Any) -> None:
    serve = commands.add_parser("serve", help="start the web server")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8787)")
    serve.add_argument("--insecure", action="store_true", help="allow a non-loopback bind without a password")
    serve.add_argument("--workers", type=int, default=1,
                       help="server processes (default 1); more than one needs PostgreSQL and Redis")
    add_home(serve)
    serve.set_defaults(func=run)


def workers_problem(settings: Settings, workers: int) -> str | None:
    """Why ``workers`` processes cannot serve this configuration, or None."""
    if workers < 1:
        return "--workers must be at least 1"
    if workers == 1:
        return None
    if settings.resolved_database_url.startswith("sqlite"):
        return ("--workers needs PostgreSQL (THREADLINE_DATABASE_URL): SQLite takes one writer at a time, so "
                "processes sharing it would wait on each other; one process on SQLite already serves a team")
    if not settings.redis_url:
        return ("--workers needs Redis (THREADLINE_REDIS_URL): the workers are instances of one deployment and "
                "share drafts, streams, cancels and approvals through it")
    return None


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from threadline.cli.gcpolicy import server_gc
    from threadline.logs import logging_config
    from threadline.web.security_check import refuse_unsafe_bind

    settings = settings_from(args, host=args.host, port=args.port, insecure=args.insecure or None)
    problem = refuse_unsafe_bind(settings) or workers_problem(settings, args.workers)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    workers = f", {args.workers} workers" if args.workers > 1 else ""
    print(f"Threadline {__version__} on http://{_display_host(settings.host)}:{settings.port} "
          f"(home {settings.home}{workers})")
    options: dict[str, Any] = dict(host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
                                   log_config=logging_config(settings), timeout_graceful_shutdown=5,
                                   ws="none")  # no WebSocket routes: the websockets library is never loaded
    if args.workers > 1:
        # The workers read their settings from the environment: the flags go there first.
        os.environ.update(THREADLINE_HOME=str(settings.home), THREADLINE_HOST=settings.host,
                          THREADLINE_PORT=str(settings.port), THREADLINE_INSECURE=str(settings.insecure).lower())
        uvicorn.run(WORKER_APP, factory=True, workers=args.workers, **options)
        return 0
    from threadline.web.app import create_app

    uvicorn.run(create_app(settings, on_started=server_gc), **options)
    return 0


def worker_app() -> FastAPI:
    """One worker's app (uvicorn's factory): settings from the environment, an instance id of its own
    (``THREADLINE_INSTANCE_ID`` with the process id appended, else a random one). The same factory
    serves ``uvicorn --factory threadline.cli.serve:worker_app --workers N`` (docs/deploy.md)."""
    from threadline.cli.gcpolicy import server_gc
    from threadline.web.app import create_app

    settings = Settings()
    if settings.instance_id:
        settings = settings.model_copy(update={"instance_id": f"{settings.instance_id}-{os.getpid()}"})
    return create_app(settings, on_started=server_gc)


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
