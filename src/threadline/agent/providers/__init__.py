"""Provider adapters (OpenAI-compatible, Anthropic) behind one ``Provider`` protocol, and their registry."""

from threadline.agent.providers.anthropic import AnthropicProvider
from threadline.agent.providers.base import Provider, ToolSpec
from threadline.agent.providers.openai_compat import OpenAIProvider
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
