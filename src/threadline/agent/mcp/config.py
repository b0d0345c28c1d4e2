"""What an MCP server is to Threadline: a name, a transport (stdio or Streamable HTTP), and per-tool
policies; how a request body becomes one (validated whole), and how it is shown (secrets masked).

    stdio            command, args, env      a subprocess spoken to over its stdin and stdout
    Streamable HTTP  url, headers            OAuth when the server asks for it (``oauth.py``)

Every value of ``env`` and ``headers`` may be a secret, so all of them are returned masked
(``mask``); a masked value sent back unchanged keeps the stored one, as provider keys do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from threadline.errors import BadRequest

Policy = Literal["ask", "allow", "deny"]
POLICIES: tuple[Policy, ...] = ("ask", "allow", "deny")
Transport = Literal["stdio", "http"]

NAME_MAX = 32
# Letters and digits in runs joined by single "-" or "_": no "__" (the separator of exposed tool
# names), nothing at either end, so "<server>__<tool>" always splits back at its first "__".
NAME_RE = re.compile(r"^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110)
MAX_ARGS = 200
MAX_VALUES = 100
MAX_TEXT = 8000
CALLBACK_PATH = "/api/mcp/oauth/callback"  # where an authorization server sends the browser back
FIELDS = frozenset({"name", "command", "args", "env", "url", "headers", "enabled"})


@dataclass(frozen=True)
class Limits:
    call_timeout: float = 120.0
    connect_timeout: float = 30.0
    retry_seconds: float = 30.0
    auth_timeout: float = 600.0
    cwd: Path | None = None  # working directory of stdio servers


@dataclass(frozen=True)
class ServerConfig:
    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    policies: Mapping[str, Policy] = field(default_factory=dict)  # MCP tool name -> policy

    @property
    def transport(self) -> Transport:
        return "stdio" if self.command is not None else "http"

    def public(self) -> dict[str, Any]:
        """As the API shows it: every ``env`` and ``headers`` value masked."""
        return {
            "name": self.name,
            "transport": self.transport,
            "command": self.command,
            "args": list(self.args),
            "env": {k: mask(v) for k, v in self.env.items()},
            "url": self.url,
            "headers": {k: mask(v) for k, v in self.headers.items()},
            "enabled": self.enabled,
        }

    def stored(self) -> dict[str, Any]:
        """As the configuration file keeps it (secrets in clear; the file is the owner's only)."""
        return {
            "name": self.name, "command": self.command, "args": list(self.args), "env": dict(self.env),
            "url": self.url, "headers": dict(self.headers), "enabled": self.enabled,
            "policies": dict(self.policies),
        }

    def same_connection(self, other: ServerConfig) -> bool:
        """Whether ``other`` connects the same way (a change of policies or nothing needs no restart)."""
        return (self.command, self.args, dict(self.env), self.url, dict(self.headers), self.enabled) == (
            other.command, other.args, dict(other.env), other.url, dict(other.headers), other.enabled)


def status_view(
    config: ServerConfig, status: str, *, error: str | None = None, tool_count: int = 0,
    auth_url: str | None = None, server_info: str | None = None,
) -> dict[str, Any]:
    """A server as ``GET /api/mcp/servers`` shows it: its configuration (masked) and its state."""
    return {**config.public(), "status": status, "error": error, "tool_count": tool_count, "auth_url": auth_url,
            "server_info": server_info}


def mask(value: str) -> str:
    """``ab…yz``-style: enough to recognise a value, never enough to use it. Short values are all hidden."""
    if len(value) < 12:
        return "…"
    return f"{value[:3]}…{value[-4:]}"


def default_policy(read_only_hint: bool | None) -> Policy:
    """``allow`` for a tool its server marks read-only (``readOnlyHint``), else ``ask``."""
    return "allow" if read_only_hint is True else "ask"


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise BadRequest("name is required: a string of letters, digits, '-' and '_'")
    if len(name) > NAME_MAX or not NAME_RE.match(name):
        raise BadRequest(
            f"invalid server name {name[:80]!r}: use 1 to {NAME_MAX} letters and digits, joined by single "
            "'-' or '_' (no '__', nothing at the ends)"
        )
    return name


def check_policy(policy: object) -> Policy:
    if policy not in POLICIES:
        raise BadRequest(f"policy must be one of {', '.join(POLICIES)}")
    return policy


def parse_server(body: object, previous: ServerConfig | None) -> ServerConfig:
    """The configuration ``body`` asks for, on top of ``previous`` (an edit): fields left out keep
    their stored values, ``env``/``headers`` given are the whole new mapping (a masked value keeps
    the stored one). Raises ``BadRequest`` naming the first problem; nothing is half-applied."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    name = check_name(body.get("name"))
    command = _optional_text(body, "command")
    url = _optional_text(body, "url")
    if command is not None and url is not None:
        raise BadRequest("give either command (a stdio server) or url (a Streamable HTTP server), not both")
    base = previous or ServerConfig(name)
    if command is not None:  # stdio: what belongs to HTTP goes
        base = replace(base, command=command, url=None, headers={})
    elif url is not None:
        base = replace(base, url=_check_url(url), command=None, args=(), env={})
    elif previous is None or "command" in body or "url" in body:
        raise BadRequest("give command (a stdio server) or url (a Streamable HTTP server)")
    if "args" in body:
        base = replace(base, args=_args(body["args"]))
    if "env" in body:
        base = replace(base, env=_mapping(body["env"], "env", base.env, ENV_NAME_RE))
    if "headers" in body:
        base = replace(base, headers=_mapping(body["headers"], "headers", base.headers, HEADER_NAME_RE))
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise BadRequest("enabled must be true or false")
        base = replace(base, enabled=body["enabled"])
    if base.transport == "stdio" and base.headers:
        raise BadRequest("headers apply to a Streamable HTTP server (url), not to a stdio one")
    if base.transport == "http" and (base.args or base.env):
        raise BadRequest("args and env apply to a stdio server (command), not to a Streamable HTTP one")
    return base


def config_from_file(item: Mapping[str, Any]) -> ServerConfig:
    """A server as the configuration file holds it; ``ValueError`` when it is not one."""
    try:
        config = parse_server({k: v for k, v in item.items() if k in FIELDS and v is not None}, None)
    except BadRequest as exc:
        raise ValueError(exc.message) from None
    policies = item.get("policies") or {}
    if not isinstance(policies, dict) or not all(isinstance(k, str) and v in POLICIES for k, v in policies.items()):
        raise ValueError(f"server {config.name!r}: policies must map tool names to ask, allow or deny")
    return replace(config, policies=dict(policies))


def _optional_text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{key} must be a non-empty string")
    if len(value) > MAX_TEXT or "\x00" in value:
        raise BadRequest(f"{key} is too long or contains a NUL character")
    return value.strip()


def _check_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("url must be an http:// or https:// address, e.g. http://127.0.0.1:8000/mcp")
    return url


def _args(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise BadRequest("args must be a list of strings")
    if len(value) > MAX_ARGS or any(len(a) > MAX_TEXT or "\x00" in a for a in value):
        raise BadRequest(f"args: at most {MAX_ARGS} strings of {MAX_TEXT} characters, without NUL")
    return tuple(value)


def _mapping(value: object, key: str, stored: Mapping[str, str], names: re.Pattern[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(f"{key} must be an object of string values")
    if len(value) > MAX_VALUES:
        raise BadRequest(f"{key}: at most {MAX_VALUES} entries")
    result: dict[str, str] = {}
    for name, item in value.items():
        if not names.match(name) or len(name) > 200:
            raise BadRequest(f"{key}: invalid name {name[:80]!r}")
        if len(item) > MAX_TEXT or "\x00" in item or (key == "headers" and ("\r" in item or "\n" in item)):
            raise BadRequest(f"{key}.{name}: the value is too long or contains a control character")
        previous = stored.get(name)
        result[name] = previous if previous is not None and item == mask(previous) else item
    return result
