"""Provider adapters (OpenAI-compatible, Anthropic) behind one ``Provider`` protocol, and their registry.

The adapters import their SDKs, which take a second or more to load; they are imported on first use so
the server answers ``/health`` quickly after start.
"""

from __future__ import annotations

from typing import Any

from threadline.agent.providers.base import Provider, ToolSpec
from threadline.agent.providers.registry import ModelGroup, ProviderConfig, ProviderRegistry, mask_key

__all__ = [
    "AnthropicProvider",
    "ModelGroup",
    "OpenAIProvider",
    "Provider",
    "ProviderConfig",
    "ProviderRegistry",
    "ToolSpec",
    "mask_key",
]


def __getattr__(name: str) -> Any:
    if name == "AnthropicProvider":
        from threadline.agent.providers.anthropic import AnthropicProvider

        return AnthropicProvider
    if name == "OpenAIProvider":
        from threadline.agent.providers.openai_compat import OpenAIProvider

        return OpenAIProvider
    raise AttributeError(name)
