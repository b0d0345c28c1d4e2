"""The web tools' configuration (Settings → Web tools, ``GET/POST /api/web-tools``), kept in
``$THREADLINE_HOME/web.json`` (mode 0600, written atomically), as provider keys are in
``providers.json``: the API keys are returned masked, and a masked key sent back keeps the stored one.

``search_backend`` is ``none`` (``web_search`` is not offered), ``searxng`` (needs ``searxng_url``),
``brave`` or ``tavily`` (each needs its key; ``brave_url``/``tavily_url`` override the public API's
address, for a proxy or a test server). ``allow_private`` lets ``web_fetch`` reach private, loopback
and link-local addresses; ``private_hosts`` allows that for the named hosts only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from threadline.agent.providers.registry import mask_key, write_private
from threadline.agent.web.reach import Reach
from threadline.agent.web.search import Backend
from threadline.errors import BadRequest

log = logging.getLogger("threadline.web")

BACKENDS = ("none", "searxng", "brave", "tavily")
BRAVE_URL = "https://api.search.brave.com/res/v1/web/search"
TAVILY_URL = "https://api.tavily.com/search"
MAX_URL = 2000
MAX_KEY = 4000
MAX_HOSTS = 100
_HOST = re.compile(r"^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:\d{1,5})?$")
KEYS = ("brave_api_key", "tavily_api_key")


@dataclass(frozen=True)
class WebConfig:
    search_backend: str = "none"
    searxng_url: str | None = None
    brave_api_key: str | None = None
    brave_url: str | None = None
    tavily_api_key: str | None = None
    tavily_url: str | None = None
    allow_private: bool = False
    private_hosts: tuple[str, ...] = ()

    @property
    def reach(self) -> Reach:
        return Reach(self.allow_private, frozenset(self.private_hosts))

    @property
    def search_problem(self) -> str | None:
        """Why ``web_search`` cannot be offered, or None when it can."""
        if self.search_backend == "none":
            return "no search backend is configured"
        if self.search_backend == "searxng" and not self.searxng_url:
            return "the SearXNG backend needs searxng_url"
        if self.search_backend == "brave" and not self.brave_api_key:
            return "the Brave backend needs brave_api_key"
        if self.search_backend == "tavily" and not self.tavily_api_key:
            return "the Tavily backend needs tavily_api_key"
        return None

    def backend(self) -> Backend | None:
        """The configured search backend, or None when ``web_search`` is not offered."""
        if self.search_problem is not None:
            return None
        if self.search_backend == "searxng":
            return Backend("searxng", self.searxng_url or "")
        if self.search_backend == "brave":
            return Backend("brave", self.brave_url or BRAVE_URL, self.brave_api_key)
        return Backend("tavily", self.tavily_url or TAVILY_URL, self.tavily_api_key)

    def public(self) -> dict[str, Any]:
        """As the API shows it: keys masked (``has_…_key`` says whether one is stored)."""
        view = asdict(self)
        view["private_hosts"] = list(self.private_hosts)
        for key in KEYS:
            view[key] = mask_key(getattr(self, key))
            view[f"has_{key.removesuffix('_api_key')}_key"] = bool(getattr(self, key))
        view["search_available"] = self.search_problem is None
        view["search_problem"] = self.search_problem
        return view


def changed(previous: WebConfig, body: Any) -> WebConfig:
    """``previous`` with the changes of a request body applied, each checked first (``BadRequest``
    naming the first bad one; nothing changes). Keys left out keep their values; a key sent back in
    its masked form keeps the stored key, ``""`` or null removes it."""
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    known = {name for name in WebConfig.__dataclass_fields__}
    unknown = sorted(set(body) - known)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(map(str, unknown))}; expected: {', '.join(sorted(known))}")
    values: dict[str, Any] = {}
    for name, value in body.items():
        if name == "search_backend":
            if value not in BACKENDS:
                raise BadRequest(f"search_backend must be one of {', '.join(BACKENDS)}")
            values[name] = value
        elif name == "allow_private":
            if not isinstance(value, bool):
                raise BadRequest("allow_private must be true or false")
            values[name] = value
        elif name == "private_hosts":
            values[name] = _hosts(value)
        elif name in KEYS:
            values[name] = _key(name, value, getattr(previous, name))
        else:
            values[name] = _url(name, value)
    return replace(previous, **values)


def _url(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_URL or not re.match(r"^https?://[^\s/?#]+", value) \
            or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise BadRequest(f"{name} must be an http:// or https:// URL of at most {MAX_URL} characters")
    return value


def _key(name: str, value: Any, stored: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_KEY:
        raise BadRequest(f"{name} must be a string of at most {MAX_KEY} characters")
    if stored and value == mask_key(stored):
        return stored
    if not (value.isascii() and value.isprintable()) or value != value.strip():
        raise BadRequest(f"{name}: the key has characters an HTTP header cannot carry: use printable ASCII only")
    return value


def _hosts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_HOSTS:
        raise BadRequest(f"private_hosts must be a list of at most {MAX_HOSTS} host names")
    hosts: list[str] = []
    for item in value:
        host = item.strip().lower() if isinstance(item, str) else None
        if not host or len(host) > 260 or not _HOST.match(host):
            raise BadRequest(f"private_hosts: {str(item)[:100]!r} is not a host name or host:port "
                             "(e.g. wiki.internal, 10.0.0.5, localhost:8080)")
        if host not in hosts:
            hosts.append(host)
    return tuple(hosts)


class WebSettings:
    """The configuration in force, read from its file at start-up and written on every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.config = self._load()
        self._lock = asyncio.Lock()

    def _load(self) -> WebConfig:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return WebConfig()
        except (OSError, ValueError) as exc:
            log.warning("%s cannot be read (%s); the web tools start with their defaults", self.path, exc)
            return WebConfig()
        try:
            return changed(WebConfig(), raw)
        except BadRequest as exc:
            log.warning("%s: %s; the web tools start with their defaults", self.path, exc.message)
            return WebConfig()

    async def update(self, body: Any) -> WebConfig:
        """Apply a change (see ``changed``) and write the file; if writing fails, nothing changes."""
        async with self._lock:
            config = changed(self.config, body)
            stored = asdict(config)
            stored["private_hosts"] = list(config.private_hosts)
            text = json.dumps(stored, indent=2) + "\n"
            await asyncio.to_thread(write_private, self.path, text)
            self.config = config
            return config
