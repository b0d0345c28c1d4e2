"""The front end's module rules, read from the sources (no browser): every event the modules send each
other is declared in events.js and used through its constant, has a sender and a listener; app.js holds
the one list of ``init*()`` calls; the run state has one owner; modules stay small."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[2] / "src" / "threadline" / "web" / "static" / "js"
MODULES = sorted(p for p in JS.rglob("*.js"))


def source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def declared(block: str) -> dict[str, str]:
    text = source(JS / "events.js")
    body = re.search(rf"export const {block} = Object\.freeze\(\{{(.*?)\}}\);", text, re.S)
    assert body, f"events.js declares {block}"
    return dict(re.findall(r"(\w+): '([^']+)'", body.group(1)))


def test_every_event_is_declared_and_used_through_its_constant() -> None:
    events = declared("EV")
    assert len(set(events.values())) == len(events), "two constants share a name"
    literal = re.compile(r"\b(?:on|emit)\(\s*['\"`]")
    offenders = [
        f"{p.name}: {line.strip()}" for p in MODULES for line in source(p).splitlines() if literal.search(line)
    ]
    assert not offenders, "events named by a string instead of EV.*:\n" + "\n".join(offenders)
    emitted: set[str] = set()
    listened: set[str] = set()
    for path in MODULES:
        text = source(path)
        emitted |= set(re.findall(r"\bemit\(\s*EV\.(\w+)", text))
        listened |= set(re.findall(r"\bon\(\s*EV\.(\w+)", text))
        # header.js subscribes one render function to a list of events
        for group in re.findall(r"for \(const \w+ of \[([^\]]*)\]\) on\(", text):
            listened |= set(re.findall(r"EV\.(\w+)", group))
    assert emitted - set(events) == set() and listened - set(events) == set()
    assert set(events) - emitted == set(), "declared but never sent"
    assert set(events) - listened == set(), "declared but nobody listens"


def test_dom_events_are_declared_dispatched_and_listened() -> None:
    dom = declared("DOM_EV")
    text = "\n".join(source(p) for p in MODULES)
    for name in dom:
        assert re.search(rf"new CustomEvent\(DOM_EV\.{name}\b", text), name
        assert re.search(rf"addEventListener\(DOM_EV\.{name}\b", text), name
    assert not re.search(r"new CustomEvent\(\s*['\"]", text), "a DOM event named by a string"


def test_app_js_is_the_one_list_of_init_calls() -> None:
    inits = {
        name: path.name
        for path in MODULES
        for name in re.findall(r"export function (init\w+)\(", source(path))
    }
    assert len(inits) >= 10
    app = source(JS / "app.js")
    for name in inits:
        assert len(re.findall(rf"\b{name}\(", app)) == 1, f"app.js calls {name} once"
    for path in MODULES:
        if path.name == "app.js":
            continue
        calls = [n for n in re.findall(r"\b(init\w+)\(", source(path)) if n in inits]
        defined = re.findall(r"export function (init\w+)\(", source(path))
        assert calls == defined, f"{path.name} calls another module's init: {set(calls) - set(defined)}"


def test_the_run_state_has_one_owner() -> None:
    for path in MODULES:
        if path.name == "state.js":
            continue
        text = source(path)
        assert not re.search(r"\bstate\.(busy|run|starting)\s*=[^=]", text), f"{path.name} sets the run state itself"
        assert not re.search(r"^let (live|starting|busy)\b", text, re.M), f"{path.name} keeps its own run state"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(JS)))
def test_modules_stay_small(path: Path) -> None:
    assert len(source(path).splitlines()) <= 400


def test_api_errors_read_the_servers_one_shape() -> None:
    """web/errors.py answers ``{"error": ...}``; FastAPI's ``detail`` never reaches the browser."""
    text = source(JS / "api.js")
    assert "data.error" in text and "detail" not in text
