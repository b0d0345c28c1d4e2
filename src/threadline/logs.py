"""Logging set-up for ``threadline serve``: plain lines, or one JSON object per line with
``THREADLINE_LOG_JSON=1`` (for log collectors). uvicorn's own loggers go through the same handler."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from threadline.settings import Settings

# LogRecord attributes that are not "extra" fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "color_message",  # uvicorn's copy with terminal colours
}


class JsonFormatter(logging.Formatter):
    def __init__(self, instance_id: str | None = None) -> None:
        super().__init__()
        self.instance_id = instance_id

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.instance_id:
            entry["instance"] = self.instance_id
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            entry.update(client=client, method=method, path=path, http_version=version, status=status)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict (also given to uvicorn as ``log_config``)."""
    level = settings.log_level.upper()
    formatter: dict[str, Any] = (
        {"()": "threadline.logs.JsonFormatter", "instance_id": settings.instance_id}
        if settings.log_json
        else {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"}
    )
    passthrough = {"handlers": [], "propagate": True, "level": level}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "default",
                                 "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {"uvicorn": passthrough, "uvicorn.error": passthrough, "uvicorn.access": passthrough},
    }
