"""``threadline serve``: the web server."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from threadline import __version__
from threadline.cli.options import add_home, settings_from


def add_parser(commands: Any) -> None:
    serve = commands.add_parser("serve", help="start the web server")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8787)")
    serve.add_argument("--insecure", action="store_true", help="allow a non-loopback bind without a password")
    add_home(serve)
    serve.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from threadline.cli.gcpolicy import server_gc
    from threadline.logs import logging_config
    from threadline.web.app import create_app
    from threadline.web.security_check import refuse_unsafe_bind

    settings = settings_from(args, host=args.host, port=args.port, insecure=args.insecure or None)
    problem = refuse_unsafe_bind(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    print(f"Threadline {__version__} on http://{_display_host(settings.host)}:{settings.port} (home {settings.home})")
    uvicorn.run(
        create_app(settings, on_started=server_gc),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=logging_config(settings),
        timeout_graceful_shutdown=5,
        ws="none",  # no WebSocket routes: the websockets library is never loaded
    )
    return 0


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
