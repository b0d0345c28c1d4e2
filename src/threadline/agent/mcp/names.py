"""The names MCP tools get before the model: ``<server>__<tool>``, within what providers accept.

OpenAI and Anthropic take tool names matching ``^[a-zA-Z0-9_-]{1,64}$``. A server name already fits
(``config.NAME_RE``, at most 32 characters, never containing ``__``), so the exposed name splits back
at its first ``__`` and two servers can never collide. A tool name that does not fit as it is (other
characters, or too long) is cleaned and given a suffix from a hash of the original, so the same tool
always gets the same name; the rare clash left inside one server is settled by ``expose_all``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

MAX_NAME = 64
SEPARATOR = "__"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_CLEAN = re.compile(r"^[A-Za-z0-9_-]+$")


def _digest(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def exposed_name(server: str, tool: str) -> str:
    prefix = f"{server}{SEPARATOR}"
    room = MAX_NAME - len(prefix)
    if tool and _CLEAN.match(tool) and len(tool) <= room:
        return prefix + tool
    cleaned = _UNSAFE.sub("_", tool)[: room - 9] or "tool"
    return f"{prefix}{cleaned}_{_digest(tool)}"


def expose_all(server: str, tools: Iterable[str]) -> dict[str, str]:
    """MCP tool name -> exposed name for one server's tools, every exposed name distinct. Clashes
    (a tool literally named like another's cleaned form) are settled in sorted order of the original
    names, so the outcome does not depend on the order the server listed them in."""
    result: dict[str, str] = {}
    taken: set[str] = set()
    for tool in sorted(set(tools)):
        name = exposed_name(server, tool)
        attempt = 0
        while name in taken:
            attempt += 1
            base = exposed_name(server, tool)[: MAX_NAME - 9]
            name = f"{base}_{_digest(f'{tool}#{attempt}')}"
        taken.add(name)
        result[tool] = name
    return result

