"""What a model can take: its context window (in tokens) and whether it sees images.

Three sources, the first that says winning (``agent/budget.py`` asks them in this order, after the
user's overrides):

1. the provider's model listing, where it says: Anthropic's ``max_input_tokens`` and
   ``capabilities.image_input``; OpenAI-compatible servers' ``context_length`` (OpenRouter, many
   others), ``context_window``, ``max_model_len`` (vLLM), ``max_context_length`` (LM Studio),
   ``meta.n_ctx_train`` (llama.cpp) and ``architecture.input_modalities`` (OpenRouter);
2. ``TABLE``, patterns over well-known model names (a model name ends with or contains them);
3. nothing: the caller's default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ModelFacts:
    window: int | None = None  # tokens of input the model takes; None: not said
    vision: bool | None = None  # whether it takes image parts; None: not said


# (pattern searched in the lower-case model name without its provider prefix, window, vision).
# First match wins, so the more specific patterns come first.
TABLE: tuple[tuple[str, int, bool], ...] = (
    (r"gpt-4\.1", 1_047_576, True),
    (r"gpt-4o|chatgpt-4o", 128_000, True),
    (r"gpt-4-turbo|gpt-4-1106|gpt-4-0125|gpt-4-vision", 128_000, True),
    (r"gpt-4-32k", 32_768, False),
    (r"gpt-4(?!\.|o|-t)", 8_192, False),
    (r"gpt-3\.5-turbo", 16_385, False),
    (r"gpt-5", 400_000, True),
    (r"(^|/)o[134](-|$)", 200_000, True),
    (r"claude-3-haiku|claude-3-5|claude-3-7|claude-3-opus|claude-3-sonnet", 200_000, True),
    (r"claude", 200_000, True),
    (r"gemini", 1_048_576, True),
    (r"deepseek", 128_000, False),
    (r"llava|bakllava|moondream|minicpm-v|qwen2\.5-?vl|qwen2-vl|qwen-vl|llama3\.2-vision|llama-3\.2-.*vision"
     r"|gemma3|pixtral|granite3\.2-vision|mistral-small3\.1", 32_768, True),
    (r"llama-?3\.[123]|llama-?4", 128_000, False),
    (r"llama-?3", 8_192, False),
    (r"qwen2\.5|qwen3|qwq", 32_768, False),
    (r"mistral-large|mistral-medium|mistral-small|codestral|ministral", 128_000, False),
    (r"mixtral|mistral", 32_768, False),
    (r"phi-?4", 16_384, False),
    (r"phi-?3", 128_000, False),
    (r"command-r", 128_000, False),
    (r"grok", 131_072, False),
)
_COMPILED = tuple((re.compile(p), w, v) for p, w, v in TABLE)


def from_table(model: str) -> ModelFacts:
    """The table's facts for a model name (``provider/`` prefix and case ignored)."""
    name = model.lower()
    for pattern, window, vision in _COMPILED:
        if pattern.search(name):
            return ModelFacts(window, vision)
    return ModelFacts()


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value >= 1:
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value) or None
    return None


def from_listing(item: dict[str, Any]) -> ModelFacts:
    """The facts one entry of a provider's model listing states (``ModelFacts()`` if none)."""
    window = None
    for key in ("max_input_tokens", "context_length", "context_window", "max_model_len", "max_context_length"):
        window = window or _positive_int(item.get(key))
    meta = item.get("meta")
    if window is None and isinstance(meta, dict):
        window = _positive_int(meta.get("n_ctx")) or _positive_int(meta.get("n_ctx_train"))
    top = item.get("top_provider")
    if window is None and isinstance(top, dict):
        window = _positive_int(top.get("context_length"))
    vision: bool | None = None
    capabilities = item.get("capabilities")
    if isinstance(capabilities, dict):
        image = capabilities.get("image_input")
        if isinstance(image, dict) and isinstance(image.get("supported"), bool):
            vision = image["supported"]
        elif isinstance(image, bool):
            vision = image
    elif isinstance(capabilities, list):  # Ollama-style ["completion", "vision", ...]
        vision = "vision" in capabilities
    architecture = item.get("architecture")
    if vision is None and isinstance(architecture, dict):
        modalities = architecture.get("input_modalities")
        if isinstance(modalities, list):
            vision = "image" in modalities
    return ModelFacts(window, vision)
