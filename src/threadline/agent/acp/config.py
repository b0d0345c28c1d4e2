"""The ACP agents a user configured, and the file that keeps them.

``runtimes.json`` in the state directory (``Settings.runtimes_file``), mode 0600, written atomically,
like the providers file. An agent is a name, a command, its arguments and extra environment
variables; the environment's values are treated as secrets: the API shows them masked, and a masked
value sent back keeps the stored one. Only this configuration, set by an authenticated user, says what
Threadline runs; an agent runs with the server's privileges.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadline.agent.providers.registry import mask_key, write_private
from threadline.agent.runtime import BUILTIN

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
MAX_COMMAND = 4096
MAX_ARGS = 100
MAX_ARG = 4096
MAX_ENV = 100
MAX_ENV_VALUE = 16_384
BASE_ENV = ("HOME", "LOGNAME", "USER", "PATH", "SHELL", "TERM", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")


@dataclass(frozen=True)
class AgentConfig:
    """One ACP agent: ``command`` with ``args``, run with the base environment plus ``env``."""

    name: str
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise ValueError(problem)

    def public(self) -> dict[str, Any]:
        """As the API shows it: the environment's values masked."""
        return {"name": self.name, "kind": "acp", "command": self.command, "args": list(self.args),
                "env": {key: mask_key(value) or "" for key, value in self.env.items()}}

    def stored(self) -> dict[str, Any]:
        return {"name": self.name, "command": self.command, "args": list(self.args), "env": dict(self.env)}

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """What the agent process gets: a few variables of ``base`` (the server's; no secrets), then ``env``."""
        return {**{k: base[k] for k in BASE_ENV if k in base}, **self.env}

    def unavailable(self) -> str | None:
        """Why the command cannot be started, or None."""
        if "/" in self.command:
            path = Path(self.command).expanduser()
            if not path.is_file():
                return f"no such program: {self.command}"
            if not os.access(path, os.X_OK):
                return f"not executable: {self.command}"
            return None
        if shutil.which(self.command) is None:
            return f"command not found on the server's PATH: {self.command}"
        return None


def _problem(config: AgentConfig) -> str | None:
    if not isinstance(config.name, str) or not NAME.match(config.name):
        return "name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    if config.name == BUILTIN:
        return f"the name {BUILTIN!r} is the built-in runtime's"
    if not isinstance(config.command, str) or not config.command.strip() or config.command != config.command.strip():
        return "command must be a program name or path, without surrounding spaces"
    if len(config.command) > MAX_COMMAND or "\x00" in config.command:
        return f"command must be at most {MAX_COMMAND} characters, without NUL"
    if not isinstance(config.args, tuple) or len(config.args) > MAX_ARGS:
        return f"args must be a list of at most {MAX_ARGS} strings"
    if any(not isinstance(a, str) or len(a) > MAX_ARG or "\x00" in a for a in config.args):
        return f"each argument must be a string of at most {MAX_ARG} characters, without NUL"
    if not isinstance(config.env, Mapping) or len(config.env) > MAX_ENV:
        return f"env must be an object of at most {MAX_ENV} variables"
    for key, value in config.env.items():
        if not isinstance(key, str) or not ENV_NAME.match(key):
            return f"invalid environment variable name {key!r}"
        if not isinstance(value, str) or len(value) > MAX_ENV_VALUE or "\x00" in value:
            return f"the value of {key} must be a string of at most {MAX_ENV_VALUE} characters, without NUL"
    return None


class AgentConfigs:
    """The configured agents, in the order they were added, kept in ``path``."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._configs: dict[str, AgentConfig] = {}

    @classmethod
    def load(cls, path: Path | None) -> AgentConfigs:
        """The agents in the file at ``path`` (none if it does not exist); ``ValueError`` if it is invalid."""
        configs = cls(path)
        if path is None or not path.exists():
            return configs
        try:
            data = json.loads(path.read_text("utf-8"))
            for item in data.get("runtimes", []):
                env = item.get("env") or {}
                config = AgentConfig(item["name"], item["command"], tuple(item.get("args") or ()), dict(env))
                configs._configs[config.name] = config
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"{path} is not a valid runtimes file: {exc}") from exc
        return configs

    def __iter__(self) -> Any:
        return iter(list(self._configs.values()))

    def get(self, name: str) -> AgentConfig | None:
        return self._configs.get(name)

    def merged(self, config: AgentConfig, *, keep_env: bool) -> AgentConfig:
        """``config`` as it will be stored: with ``keep_env`` the stored environment is kept whole;
        otherwise a value sent back in its masked form keeps the stored value."""
        previous = self._configs.get(config.name)
        if previous is None:
            return config
        if keep_env:
            return AgentConfig(config.name, config.command, config.args, dict(previous.env))
        env = {key: previous.env[key] if key in previous.env and value == (mask_key(previous.env[key]) or "")
               else value for key, value in config.env.items()}
        return AgentConfig(config.name, config.command, config.args, env)

    def save(self, config: AgentConfig) -> None:
        """Add or replace ``config`` (already merged) and write the file; nothing changes if the write fails."""
        updated = {**self._configs, config.name: config}
        self._write(updated)
        self._configs = updated

    def delete(self, name: str) -> AgentConfig:
        """Remove an agent; ``KeyError`` if there is none of that name."""
        config = self._configs[name]
        updated = {k: v for k, v in self._configs.items() if k != name}
        self._write(updated)
        self._configs = updated
        return config

    def _write(self, configs: dict[str, AgentConfig]) -> None:
        if self.path is None:
            return
        text = json.dumps({"runtimes": [c.stored() for c in configs.values()]}, indent=2) + "\n"
        write_private(self.path, text)
