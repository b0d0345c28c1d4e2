"""When a scheduled task fires: the schedule a user writes, in a time zone, and its next firing.

    "0 9 * * 1-5", "@daily"           a cron expression (5 fields, or 6 with seconds last)
    "every 30m", "every 2h", "every 10s"  an interval, counted from the task's creation (its anchor)
    "2026-05-04T09:00", "2026-05-04 09:00+02:00"  once, at that time (without an offset: in the zone)
    "in 30m", "30m"                   once, that long from now

Pure functions of their arguments; times are float epoch seconds. Bad input raises ``BadRequest``
with the forms above.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from threadline.errors import BadRequest

KINDS = ("cron", "interval", "once")
MIN_INTERVAL = 1.0
MAX_INTERVAL = 366 * 86400.0
PAST_TOLERANCE = 60.0  # a one-shot time this far in the past still fires (at once)
MAX_COUNTED = 10_000
_UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
          "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
          "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-z]+)$")
_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?LW#]+$")
HELP = ("use a cron expression ('0 9 * * 1-5', '@daily'), an interval ('every 30m', 'every 2h'), a time "
        "('2026-05-04T09:00') or a delay ('in 30m')")


@dataclass(frozen=True)
class Schedule:
    kind: str  # cron | interval | once
    expr: str  # the cron expression, the interval in seconds, or the time as an ISO string in UTC
    display: str


def zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise BadRequest("timezone must be an IANA time zone name, e.g. Europe/Paris")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"unknown time zone {name!r}; use an IANA name, e.g. Europe/Paris") from None


def local_zone_name() -> str:
    """The server's time zone: ``TZ``, else ``/etc/localtime``'s name, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name and not Path(name).is_absolute():
            try:
                ZoneInfo(name)
                return name
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return "UTC"


def _seconds(text: str) -> float | None:
    match = _DURATION.match(text.strip().lower())
    if match is None or match.group(2) not in _UNITS:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


def _short(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse(text: object, tz: ZoneInfo, now: float) -> Schedule:
    if not isinstance(text, str) or not text.strip():
        raise BadRequest(f"schedule is required: {HELP}")
    raw = " ".join(text.split())
    if len(raw) > 200:
        raise BadRequest("schedule is longer than 200 characters")
    lower = raw.lower()
    if lower.startswith("every "):
        seconds = _seconds(lower[6:])
        if seconds is None:
            raise BadRequest(f"cannot read the interval {raw!r}: {HELP}")
        if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
            raise BadRequest(f"an interval must be from {MIN_INTERVAL:g} second to a year")
        return Schedule("interval", f"{seconds:g}", f"every {_short(seconds)}")
    delay = _seconds(lower[3:] if lower.startswith("in ") else lower)
    if delay is not None:
        at = now + delay
        return Schedule("once", _iso_utc(at), f"once at {_local(at, tz)}")
    fields = raw.split()
    if raw.startswith("@") or (len(fields) in (5, 6) and all(_CRON_FIELD.match(f) for f in fields)):
        if not croniter.is_valid(raw):
            raise BadRequest(f"{raw!r} is not a valid cron expression")
        return Schedule("cron", raw, raw)
    moment = _time(raw, tz)
    if moment is None:
        raise BadRequest(f"cannot read the schedule {raw!r}: {HELP}")
    if moment < now - PAST_TOLERANCE:
        raise BadRequest(f"{_local(moment, tz)} ({tz.key}) has already passed")
    return Schedule("once", _iso_utc(moment), f"once at {_local(moment, tz)}")


def _time(raw: str, tz: ZoneInfo) -> float | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", raw):
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"cannot read the time {raw!r}; write it like 2026-05-04T09:00") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.timestamp()


def _iso_utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo("UTC")).isoformat()


def _local(ts: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M")


def iso(ts: float | None, tz: ZoneInfo) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz).isoformat(timespec="milliseconds")


def first(schedule: Schedule, tz: ZoneInfo, anchor: float, now: float) -> float | None:
    """The first firing of a new (or changed, or resumed) schedule: a one-shot's time, else the next
    slot after ``now``."""
    if schedule.kind == "once":
        return datetime.fromisoformat(schedule.expr).timestamp()
    return after(schedule, tz, anchor, now)


def after(schedule: Schedule, tz: ZoneInfo, anchor: float, moment: float) -> float | None:
    """The first slot strictly after ``moment``; None for a one-shot (it fires once)."""
    if schedule.kind == "once":
        return None
    if schedule.kind == "interval":
        step = float(schedule.expr)
        count = max(1, math.floor((moment - anchor) / step) + 1)
        return anchor + count * step
    start = datetime.fromtimestamp(moment, tz)
    return float(croniter(schedule.expr, start).get_next(float))


def slots_between(schedule: Schedule, tz: ZoneInfo, anchor: float, first_due: float, moment: float) -> int:
    """How many slots from ``first_due`` (included) up to ``moment`` (included): the firings a task
    missed while nobody ran it (at most ``MAX_COUNTED``)."""
    count = 0
    due: float | None = first_due
    while due is not None and due <= moment and count < MAX_COUNTED:
        count += 1
        due = after(schedule, tz, anchor, due)
    return count


def describe_delay(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))
