"""A message's content as plain text: the one rule for every place that flattens the list-of-parts form
(``[{"type": "text", "text": ...}, ...]``) that OpenAI-style and Hermes transcripts use. Text parts and
bare strings count; thinking, images and tool-use parts do not (reasoning is kept on its own)."""

from __future__ import annotations

from typing import Any


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [part if isinstance(part, str) else part.get("text") if isinstance(part, dict) else None
                 for part in content]
        return "\n".join(str(p) for p in parts if p)
    return "" if content is None else str(content)
