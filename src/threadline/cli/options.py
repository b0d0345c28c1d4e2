"""What the commands share: the ``--home`` option and the settings built from the flags."""

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
