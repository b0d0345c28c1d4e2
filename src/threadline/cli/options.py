"""What the commands share: the ``--home`` option, the settings built from the flags, how a database
URL is shown."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from threadline.settings import Settings


def add_home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", help="state directory (default: $THREADLINE_HOME or ~/.threadline)")


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings from the environment, with the flags that were given (``None`` means not given)."""
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if getattr(args, "home", None):
        overrides["home"] = Path(args.home)
    return Settings(**overrides)


def shown_url(url: str) -> str:
    """A database URL fit to print: its password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
