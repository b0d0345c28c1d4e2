"""The ``threadline`` command: serve, migrate, import."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from threadline import __version__
from threadline.settings import Settings


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if getattr(args, "home", None):
        overrides["home"] = Path(args.home)
    return Settings(**overrides)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from threadline.logs import logging_config
    from threadline.web.app import create_app

    settings = _settings(args, host=args.host, port=args.port, insecure=args.insecure or None)
    from threadline.web.security_check import refuse_unsafe_bind

    problem = refuse_unsafe_bind(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    print(f"Threadline {__version__} on http://{_display_host(settings.host)}:{settings.port} (home {settings.home})")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=logging_config(settings),
        timeout_graceful_shutdown=5,
    )
    return 0


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _migrate(args: argparse.Namespace) -> int:
    from threadline.store.engine import Store

    settings = _settings(args)
    settings.home.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        store = Store(settings.resolved_database_url)
        try:
            await store.migrate()
        finally:
            await store.close()

    asyncio.run(run())
    print(f"database is up to date: {_redact_url(settings.resolved_database_url)}")
    return 0


def _redact_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _import(args: argparse.Namespace) -> int:
    from threadline.sessions.hermes import run_hermes_import

    return run_hermes_import(_settings(args), Path(args.directory))


def _copy_store(args: argparse.Namespace) -> int:
    from threadline.store.copying import run_copy_store

    return run_copy_store(args.source, args.target, force=args.force, batch=args.batch)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="threadline", description="A self-hosted web UI for AI agents.")
    parser.add_argument("--version", action="version", version=f"threadline {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_home(p: argparse.ArgumentParser) -> None:
        p.add_argument("--home", help="state directory (default: $THREADLINE_HOME or ~/.threadline)")

    serve = commands.add_parser("serve", help="start the web server")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8787)")
    serve.add_argument("--insecure", action="store_true", help="allow a non-loopback bind without a password")
    add_home(serve)
    serve.set_defaults(func=_serve)

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    add_home(migrate)
    migrate.set_defaults(func=_migrate)

    copier = commands.add_parser(
        "copy-store", help="copy every table to another database (e.g. SQLite to PostgreSQL), keeping ids"
    )
    copier.add_argument("--from", dest="source", required=True, help="source database URL")
    copier.add_argument("--to", dest="target", required=True, help="target database URL (migrated first)")
    copier.add_argument("--force", action="store_true", help="empty a target that already has rows")
    copier.add_argument("--batch", type=int, default=1000, help="rows per insert (default 1000)")
    copier.set_defaults(func=_copy_store)

    importer = commands.add_parser("import", help="import sessions from another system")
    sources = importer.add_subparsers(dest="source", required=True)
    hermes = sources.add_parser("hermes", help="import a Hermes WebUI sessions/ directory")
    hermes.add_argument("directory", help="the sessions/ directory (projects.json beside it is read too)")
    add_home(hermes)
    hermes.set_defaults(func=_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
