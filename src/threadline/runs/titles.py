"""An LLM-written title for a new conversation (optional: setting ``llm_titles``)."""

from __future__ import annotations

import asyncio
import logging

from threadline.agent.events import ProviderError, TextDelta
from threadline.agent.providers.base import Provider

log = logging.getLogger("threadline.runs.titles")

TITLE_TIMEOUT = 20.0
PROMPT = (
    "Write a short title (at most 6 words, no quotes, no final period) for a conversation that starts "
    "with this message. Answer with the title only.\n\nMessage:\n{message}"
)


def clean_llm_title(text: str) -> str | None:
    line = next((x for x in text.strip().splitlines() if x.strip()), "")
    line = line.strip().strip("\"'`*#").removeprefix("Title:").strip().rstrip(".")
    return line[:80] or None


async def llm_title(provider: Provider, model: str, first_message: str) -> str | None:
    """Ask the model for a title; None when it fails or says nothing useful (never raises)."""
    messages = [{"role": "user", "content": PROMPT.format(message=first_message[:2000])}]

    async def ask() -> str:
        parts = []
        async for event in provider.stream(model=model, messages=messages, tools=[]):
            if isinstance(event, TextDelta):
                parts.append(event.text)
        return "".join(parts)

    try:
        return clean_llm_title(await asyncio.wait_for(ask(), TITLE_TIMEOUT))
    except (ProviderError, TimeoutError) as exc:
        log.info("no LLM title: %s", exc)
        return None
