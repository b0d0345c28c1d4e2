"""A cheap token estimate, without a tokenizer nor the network.

One token is counted for every ``BYTES_PER_TOKEN`` bytes of UTF-8 (English text is about four
characters a token; other scripts take more bytes per character and about as many more tokens, so
counting bytes keeps the estimate on the safe side), plus ``MESSAGE_OVERHEAD`` per message (role and
framing), the JSON of tool calls and tool definitions, and ``IMAGE_TOKENS`` per image (the order of a
1-megapixel image in both APIs: OpenAI counts 85 + 170 per 512-pixel tile, Anthropic width x
height / 750, at most about 1,600). The estimate errs high rather than low: compaction leaves room.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from threadline.agent.providers.base import ToolSpec

BYTES_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4
IMAGE_TOKENS = 1_600


def text_tokens(text: str) -> int:
    if not text:
        return 0
    return -(-len(text.encode("utf-8", "replace")) // BYTES_PER_TOKEN)


def _content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return text_tokens(content)
    if isinstance(content, list):
        return sum(IMAGE_TOKENS if isinstance(p, dict) and p.get("type") in ("image", "image_url")
                   else text_tokens(p.get("text") or "" if isinstance(p, dict) else str(p)) for p in content)
    return 0


def message_tokens(message: dict[str, Any]) -> int:
    """One context message (the provider-neutral format of ``providers/base.py``)."""
    total = MESSAGE_OVERHEAD + _content_tokens(message.get("content"))
    for call in message.get("tool_calls") or ():
        total += MESSAGE_OVERHEAD + text_tokens(str(call.get("name") or ""))
        total += text_tokens(json.dumps(call.get("arguments") or {}, ensure_ascii=False))
    if message.get("reasoning"):
        total += text_tokens(message["reasoning"])
    total += IMAGE_TOKENS * len(message.get("images") or ())
    return total


def messages_tokens(messages: Iterable[dict[str, Any]]) -> int:
    return sum(message_tokens(m) for m in messages)


def tools_tokens(specs: Sequence[ToolSpec]) -> int:
    return sum(MESSAGE_OVERHEAD + text_tokens(s.name) + text_tokens(s.description)
               + text_tokens(json.dumps(s.parameters, ensure_ascii=False)) for s in specs)


def request_tokens(system: str | None, messages: Iterable[dict[str, Any]], specs: Sequence[ToolSpec]) -> int:
    """A whole request: the instructions, the messages and the tool definitions."""
    return text_tokens(system or "") + MESSAGE_OVERHEAD + messages_tokens(messages) + tools_tokens(specs)
