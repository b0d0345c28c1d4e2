"""Logging set-up for ``threadline serve``: plain lines, or one JSON object per line with
``THREADLINE_LOG_JSON=1`` (for log collectors). uvicorn's own loggers go through the same handler."""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from threadline.settings import Settings

ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")  # uvicorn.access's arguments


class JsonFormatter(_JsonFormatter):
    """python-json-logger's formatter with Threadline's keys: ``ts``, ``level``, ``logger``, ``message``,
    ``instance``, the record's extra fields, ``exception``; uvicorn's access lines get their fields."""

    def __init__(self, instance_id: str | None = None) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            static_fields={"instance": instance_id} if instance_id else None,
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's copy with terminal colours
            timestamp="ts",
            json_ensure_ascii=False,
        )

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["level"] = record.levelname.lower()
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == len(ACCESS_FIELDS):
            log_data.update(zip(ACCESS_FIELDS, args, strict=True))


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
