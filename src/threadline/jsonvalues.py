"""JSON values at the edges: what may come in, and encoding what goes out.

Python's JSON parser accepts two things that poison a row once stored: lone surrogates (``"\\ud800"``
is a str that UTF-8 cannot encode, so every later response carrying it fails) and ``NaN`` /
``Infinity`` (not JSON at all, refused by the response encoder). ``problem`` finds them anywhere in
a request body, so the web layer refuses the body (400) before anything is written; ``encode_json``
never fails on what is already stored: it repairs instead (U+FFFD for a lone surrogate, ``null`` for a
non-finite number).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from threadline.errors import BadRequest

_SURROGATE = re.compile("[\ud800-\udfff]")


def problem(value: Any, where: str = "") -> str | None:
    """What makes ``value`` unstorable (a lone surrogate or a non-finite number, with its path), or
    None. Iterative, so a body nested as deep as the JSON parser allows is fine."""
    stack: list[tuple[Any, Any]] = [(value, (None, where))]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and (found := _SURROGATE.search(item)):
                return f"{_path(path)}: text is not valid Unicode (lone surrogate U+{ord(found.group()):04X})"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{_path(path)}: numbers must be finite, not {item}"
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and not key.isascii() and _SURROGATE.search(key):
                    return f"{_path(path)}: a key is not valid Unicode (lone surrogate)"
                stack.append((child, (path, key)))
        elif isinstance(item, list | tuple):
            stack.extend((child, (path, index)) for index, child in enumerate(item))
    return None


def _path(path: Any) -> str:
    """``(((None, ""), "messages"), 0)`` -> ``messages[0]``."""
    parts: list[str] = []
    while path[0] is not None:
        path, key = path
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return (path[1] + "".join(reversed(parts))).lstrip(".") or "body"


def require_storable(value: Any, where: str = "") -> None:
    found = problem(value, where)
    if found:
        raise BadRequest(found)


def repaired_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (and a surrogate pair joined)."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def repaired(value: Any) -> Any:
    """A copy of ``value`` that JSON can encode: lone surrogates become U+FFFD, non-finite numbers None."""
    if isinstance(value, str):
        return repaired_text(value) if _SURROGATE.search(value) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {repaired(key) if isinstance(key, str) else key: repaired(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [repaired(item) for item in value]
    return value


def readable(value: Any) -> Any:
    """``value`` itself, or a repaired copy when it holds what no JSON encoder takes (a JSON column
    written before the boundary refused such values, or by another program)."""
    return repaired(value) if problem(value) else value


def encode_json(value: Any, *, indent: int | None = None) -> bytes:
    """``value`` as UTF-8 JSON; never fails on stored data (see the module docstring)."""
    separators = (",", ":") if indent is None else None
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, indent=indent, separators=separators)
    except ValueError:  # NaN or an infinity
        text = json.dumps(repaired(value), ensure_ascii=False, allow_nan=False, indent=indent,
                          separators=separators)
    return encode_text(text)


def encode_text(text: str) -> bytes:
    """``text`` as UTF-8, lone surrogates as U+FFFD."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return repaired_text(text).encode()
