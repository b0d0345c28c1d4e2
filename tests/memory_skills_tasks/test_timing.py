"""Schedules: what users write, in a time zone, and when a task fires next."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from threadline.errors import BadRequest
from threadline.schedules import timing

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 28, 12, 0, tzinfo=PARIS).timestamp()


def at(*parts: int, tz: ZoneInfo = PARIS) -> float:
    return datetime(*parts, tzinfo=tz).timestamp()  # type: ignore[misc]


def test_cron_expressions_follow_the_zone_across_daylight_saving() -> None:
    s = timing.parse("30 2 * * *", PARIS, NOW)
    assert (s.kind, s.expr) == ("cron", "30 2 * * *")
    first = timing.first(s, PARIS, NOW, NOW)
    assert first == at(2026, 3, 29, 3, 0)  # 02:30 does not exist that night: the next minute that does
    assert timing.after(s, PARIS, NOW, first) == at(2026, 3, 30, 2, 30)
    assert timing.parse("@daily", PARIS, NOW).kind == "cron"
    assert timing.after(timing.parse("0 9 * * 1-5", PARIS, NOW), PARIS, NOW, NOW) == at(2026, 3, 30, 9, 0)


def test_intervals_count_from_their_anchor_and_skip_what_passed() -> None:
    s = timing.parse("every 30m", PARIS, NOW)
    assert (s.kind, s.expr, s.display) == ("interval", "1800", "every 30m")
    assert timing.first(s, PARIS, NOW, NOW) == NOW + 1800
    assert timing.after(s, PARIS, NOW, NOW + 1800) == NOW + 3600
    assert timing.after(s, PARIS, NOW, NOW + 5000) == NOW + 5400  # slots that passed are not fired late
    assert timing.parse("every 2 hours", PARIS, NOW).display == "every 2h"
    assert timing.parse("every 10s", PARIS, NOW).expr == "10"
    assert timing.slots_between(s, PARIS, NOW, NOW + 1800, NOW + 7200) == 4  # both ends included


def test_one_shot_times_and_delays() -> None:
    s = timing.parse("2026-03-28T15:30", PARIS, NOW)
    assert s.kind == "once" and timing.first(s, PARIS, NOW, NOW) == at(2026, 3, 28, 15, 30)
    assert timing.after(s, PARIS, NOW, NOW) is None
    utc = timing.parse("2026-03-28 15:30Z", PARIS, NOW)
    assert timing.first(utc, PARIS, NOW, NOW) == at(2026, 3, 28, 15, 30, tz=ZoneInfo("UTC"))
    assert timing.first(timing.parse("in 2s", PARIS, NOW), PARIS, NOW, NOW) == NOW + 2
    assert timing.first(timing.parse("45m", PARIS, NOW), PARIS, NOW, NOW) == NOW + 2700


@pytest.mark.parametrize("text, message", [
    ("", "schedule is required"),
    ("sometimes", "cannot read the schedule"),
    ("every fortnight", "cannot read the interval"),
    ("every 0s", "from 1 second"),
    ("61 * * * *", "not a valid cron expression"),
    ("2026-02-30T10:00", "cannot read the time"),
    ("2026-03-28T10:00", "has already passed"),
    ("x" * 201, "longer than 200"),
])
def test_bad_schedules_say_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        timing.parse(text, PARIS, NOW)


def test_zones() -> None:
    assert timing.zone("Asia/Tokyo").key == "Asia/Tokyo"
    for bad in ("Mars/Olympus", "", "../../etc/passwd", 5):
        with pytest.raises(BadRequest):
            timing.zone(bad)
    timing.zone(timing.local_zone_name())
