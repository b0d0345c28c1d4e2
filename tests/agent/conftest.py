"""Fixtures for the agent layer: the scripted LLM server, providers over it, a workspace, a sink."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.llm_server import ScriptedLLM
from threadline.agent.events import ToolCallRequest, Usage
from threadline.agent.providers.anthropic import AnthropicProvider
from threadline.agent.providers.base import Provider
from threadline.agent.providers.openai_compat import OpenAIProvider
from threadline.agent.tools.base import ApprovalScope, ToolContext, ToolResult
from threadline.workspace.jail import Jail

KINDS = ("openai", "anthropic")


@pytest.fixture
def llm_server(llm: ScriptedLLM) -> ScriptedLLM:
    """The shared scripted LLM server (tests/conftest.py), under this package's name."""
    return llm


def make_provider(kind: str, url: str, **options: Any) -> Provider:
    options.setdefault("api_key", "test-key")
    options.setdefault("max_retries", 0)
    if kind == "anthropic":
        return AnthropicProvider(name="anthropic", base_url=url, **options)
    return OpenAIProvider(name="openai", base_url=url, **options)


@pytest.fixture(params=KINDS)
async def provider_factory(
    request: pytest.FixtureRequest, llm_server: ScriptedLLM
) -> AsyncIterator[Callable[..., Provider]]:
    """Builds providers of one kind (each test runs once per kind) aimed at the scripted server."""
    kind: str = request.param
    made: list[Provider] = []

    def factory(url: str | None = None, **options: Any) -> Provider:
        default = llm_server.anthropic_url if kind == "anthropic" else llm_server.openai_url
        provider = make_provider(kind, url or default, **options)
        made.append(provider)
        return provider

    factory.kind = kind  # type: ignore[attr-defined]
    yield factory
    for provider in made:
        await provider.aclose()


@pytest.fixture
async def provider(provider_factory: Callable[..., Provider]) -> Provider:
    return provider_factory()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def ctx(workspace: Path) -> ToolContext:
    return ToolContext(jail=Jail(workspace), output_cap=20_000, shell_timeout=10.0)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RecordingSink:
    """An ``AgentSink`` that writes down everything, and answers approvals with ``approve``."""

    approve: bool = True
    events: list[tuple[str, Any]] = field(default_factory=list)
    approvals: list[tuple[ToolCallRequest, str]] = field(default_factory=list)
    scopes: list[ApprovalScope] = field(default_factory=list)

    async def on_text(self, text: str) -> None:
        self.events.append(("text", text))

    async def on_reasoning(self, text: str) -> None:
        self.events.append(("reasoning", text))

    async def on_assistant_message(self, message: dict[str, Any]) -> None:
        self.events.append(("assistant", message))

    async def on_tool_start(self, call: ToolCallRequest) -> None:
        self.events.append(("tool_start", call))

    async def on_tool_end(self, call: ToolCallRequest, result: ToolResult, duration: float) -> None:
        self.events.append(("tool_end", (call, result, duration)))

    async def on_tool_message(self, message: dict[str, Any]) -> None:
        self.events.append(("tool_message", message))

    async def request_approval(self, call: ToolCallRequest, description: str, scope: ApprovalScope) -> str:
        self.approvals.append((call, description))
        self.scopes.append(scope)
        return "approved" if self.approve else "denied"

    async def on_usage(self, usage: Usage) -> None:
        self.events.append(("usage", usage))

    async def on_summary(self, message: dict[str, Any]) -> None:
        self.events.append(("summary", message))

    async def on_event(self, type_: str, data: dict[str, Any]) -> None:
        self.events.append((type_, data))

    def of(self, kind: str) -> list[Any]:
        return [value for name, value in self.events if name == kind]

    @property
    def text(self) -> str:
        return "".join(self.of("text"))


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()
