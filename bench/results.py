"""Where the benchmarks write what they measured: ``bench/results/<stem>.json`` for SQLite,
``<stem>-<dialect>.json`` for another database (the directory is not tracked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

RESULTS = Path(__file__).resolve().parent / "results"


def database_name(url: str | None) -> str:
    return make_url(url).get_backend_name() if url else "sqlite"


def save(stem: str, result: dict[str, Any]) -> Path:
    """Write ``result`` (with its ``database`` key) and say where."""
    RESULTS.mkdir(exist_ok=True)
    database = result["database"]
    path = RESULTS / (f"{stem}.json" if database == "sqlite" else f"{stem}-{database}.json")
    path.write_text(json.dumps(result, indent=2))
    print(f"  written to {path}")
    return path
