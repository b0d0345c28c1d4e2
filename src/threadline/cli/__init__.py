"""The ``threadline`` command: serve, migrate, import, copy-store. One module per command; each
imports what it needs only when it runs, so ``threadline --version`` and ``--help`` stay instant."""

from __future__ import annotations

import argparse

from threadline import __version__
from threadline.cli import copy_store, imports, migrate, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="threadline", description="A self-hosted web UI for AI agents.")
    parser.add_argument("--version", action="version", version=f"threadline {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in (serve, migrate, copy_store, imports):
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
