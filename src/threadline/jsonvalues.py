"""JSON values at the edges: what may come in, and encoding what goes out.

Python's JSON parser accepts two things that poison a row once stored: lone surrogates (``"\\ud800"``
is a str that UTF-8 cannot encode, so every later response carrying it fails) and ``NaN`` /
``Infinity`` (not JSON at all, refused by the response encoder). ``problem`` finds them anywhere in
a request body, so the web layer refuses the body (400) before anything is written; ``encode_json``
never fails on what is already stored: it repairs instead (U+FFFD for a lone surrogate, ``null`` for a
non-finite number), and ``decode_json`` (the store's reader of JSON columns) repairs what it reads.

Both go through ``orjson`` (several times faster than the standard library on a long transcript) and
give exactly what the standard library gives: byte for byte on the way out, value for value on the
way in. Where the two differ, the standard library's path is taken, so the result is the same:
- out: a float in [1e-9, 1e-4) (orjson writes ``0.00001`` and ``1e-7`` where Python writes
  ``1e-05`` and ``1e-07``), an integer beyond 64 bits, a key that is not a string, a lone
  surrogate, nesting deeper than 255, a type that only one of them knows (``indent`` too);
- in: an integer of 19 digits or more (orjson reads one beyond 64 bits as a float), a lone
  surrogate, ``NaN``/``Infinity`` or a number too large for a float, nesting deeper than 1024.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from threadline.errors import BadRequest

_SURROGATE = re.compile("[\ud800-\udfff]")
# Types orjson would encode and the standard library refuses go to the latter (and fail as before).
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
# Where orjson's text of a float may differ from Python's repr (see the module docstring): each starts
# with a literal, so the regex engine finds it fast. Text inside a string may match too: then the
# standard library encodes that value, with the same result.
_FLOATS_APART = (re.compile(rb"e-[1-9](?![0-9])"), re.compile(rb"0\.0000[1-9]"))
_LONG_NUMBER = re.compile(r"[0-9]{19}")


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


def decode_json(text: str) -> Any:
    """The value of stored JSON ``text``, as ``readable(json.loads(text))`` gives it."""
    if not _LONG_NUMBER.search(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # what orjson refuses and the standard library reads (see the module docstring)
    return readable(json.loads(text))


def encode_json(value: Any, *, indent: int | None = None) -> bytes:
    """``value`` as UTF-8 JSON, compact unless ``indent``; never fails on stored data (see the module
    docstring). A non-finite number is ``null`` in both paths."""
    if indent is None:
        try:
            encoded = orjson.dumps(value, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            pass
        else:
            if not any(pattern.search(encoded) for pattern in _FLOATS_APART):
                return encoded
    return _encode_stdlib(value, indent)


def _encode_stdlib(value: Any, indent: int | None) -> bytes:
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
