"""Providers known by name (Hermes WebUI's provider ids): a client that names one without a kind or a
base URL (``POST /api/providers {"provider": "openrouter", "api_key": ...}``) gets the right ones,
instead of an OpenAI-compatible provider pointed at api.openai.com."""

from __future__ import annotations

from typing import NamedTuple

from threadline.agent.providers.registry import OPENAI_URL, ProviderKind


class KnownProvider(NamedTuple):
    display_name: str
    kind: ProviderKind
    base_url: str | None  # None: the SDK's own default


KNOWN_PROVIDERS: dict[str, KnownProvider] = {
    "openai": KnownProvider("OpenAI", "openai", OPENAI_URL),
    "anthropic": KnownProvider("Anthropic", "anthropic", None),
    "openrouter": KnownProvider("OpenRouter", "openai", "https://openrouter.ai/api/v1"),
    "deepseek": KnownProvider("DeepSeek", "openai", "https://api.deepseek.com"),
    "mistralai": KnownProvider("Mistral", "openai", "https://api.mistral.ai/v1"),
    "xai": KnownProvider("xAI", "openai", "https://api.x.ai/v1"),
    "x-ai": KnownProvider("xAI", "openai", "https://api.x.ai/v1"),
    "zai": KnownProvider("Z.AI / GLM", "openai", "https://api.z.ai/v1"),
    "minimax": KnownProvider("MiniMax", "openai", "https://api.minimax.chat/v1"),
    "gemini": KnownProvider("Google", "openai", "https://generativelanguage.googleapis.com/v1beta/openai"),
    "google": KnownProvider("Google", "openai", "https://generativelanguage.googleapis.com/v1beta/openai"),
    "nvidia": KnownProvider("NVIDIA NIM", "openai", "https://integrate.api.nvidia.com/v1"),
    "ollama": KnownProvider("Ollama", "openai", "http://127.0.0.1:11434/v1"),
    "lmstudio": KnownProvider("LM Studio", "openai", "http://127.0.0.1:1234/v1"),
}


def display_name(provider_id: str) -> str:
    known = KNOWN_PROVIDERS.get(provider_id)
    return known.display_name if known else provider_id
